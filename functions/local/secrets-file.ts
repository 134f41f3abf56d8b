import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { parseClientSecretsDocument, type ClientSecretsDocument } from '../domain/client-secrets.js';
import { parseProviderSecretsDocument, type ProviderSecretsDocument } from '../domain/provider-secrets.js';
import type { PrivateSigningKey } from '../domain/signing-keys.js';
import type { ClientSecretsWriter, ProviderSecretsWriter, SigningKeyWriter } from '../seed/apply.js';

/**
 * Local mode's stand-in for Secrets Manager: one JSON file (mode 0600) under DATA_DIR holding the
 * client secrets (`clientSecrets.current`, the same document as the AWSCURRENT version on AWS:
 * per client `{ current, previous?, previousUntil? }`), the cache key, and the private signing
 * keys, and the identity providers' client secrets (`identityProviderSecrets`, as the Secrets
 * Manager secret of that name: `{ tenant: { provider name: secret } }`). A `clientSecrets.previous` left by an older version of the broker is ignored: a previous
 * secret is accepted only with an end.
 */
interface SecretsFileContent {
  clientSecrets: { current: Record<string, unknown> };
  keys: { cacheKey: string };
  signingKeys?: PrivateSigningKey[];
  identityProviderSecrets?: ProviderSecretsDocument;
}

export class LocalSecretsFile implements ClientSecretsWriter, SigningKeyWriter, ProviderSecretsWriter {
  constructor(private readonly path: string) {}

  /** Creates the file, with fresh key material, on first use. */
  ensure(): void {
    if (existsSync(this.path)) return;
    this.write({
      clientSecrets: { current: {} },
      keys: { cacheKey: randomBytes(32).toString('base64url') },
    });
  }

  readClientSecrets = async (): Promise<ClientSecretsDocument> =>
    parseClientSecretsDocument(this.read().clientSecrets.current, 'local secrets file');

  readCacheKey = async (): Promise<Buffer> => Buffer.from(this.read().keys.cacheKey, 'utf8');

  /** The private signing keys (the caller picks the one in use); none until a seed has been applied. */
  readSigningKeys = async (): Promise<PrivateSigningKey[]> => {
    const keys = this.read().signingKeys ?? [];
    if (keys.length === 0) throw new Error('no signing key yet: apply a seed first');
    return keys;
  };

  async currentSigningKeys(): Promise<PrivateSigningKey[]> {
    return this.read().signingKeys ?? [];
  }

  async putSigningKeys(keys: PrivateSigningKey[]): Promise<void> {
    this.write({ ...this.read(), signingKeys: keys });
  }

  async currentClientSecrets(): Promise<ClientSecretsDocument> {
    return this.readClientSecrets();
  }

  /** Replaces the document, as a Secrets Manager PutSecretValue makes a new AWSCURRENT version. */
  async putClientSecrets(secrets: ClientSecretsDocument): Promise<void> {
    this.write({ ...this.read(), clientSecrets: { current: secrets } });
  }

  /** The identity providers' client secrets; none until a seed names a provider. */
  readProviderSecrets = async (): Promise<ProviderSecretsDocument> =>
    parseProviderSecretsDocument(this.read().identityProviderSecrets, 'local secrets file');

  async currentProviderSecrets(): Promise<ProviderSecretsDocument> {
    return this.readProviderSecrets();
  }

  async putProviderSecrets(secrets: ProviderSecretsDocument): Promise<void> {
    this.write({ ...this.read(), identityProviderSecrets: secrets });
  }

  private read(): SecretsFileContent {
    return JSON.parse(readFileSync(this.path, 'utf8')) as SecretsFileContent;
  }

  private write(content: SecretsFileContent): void {
    // Write then rename, so a crash never leaves a half-written secrets file.
    const temporary = `${this.path}.${process.pid}.tmp`;
    writeFileSync(temporary, JSON.stringify(content, null, 2), { mode: 0o600 });
    renameSync(temporary, this.path);
  }
}
