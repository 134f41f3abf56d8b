import { GetSecretValueCommand, PutSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { parseClientSecretsDocument, type ClientSecretsDocument } from '../domain/client-secrets.js';
import { parseProviderSecretsDocument, type ProviderSecretsDocument } from '../domain/provider-secrets.js';
import type { PrivateSigningKey } from '../domain/signing-keys.js';
import type { ClientSecretsWriter, ProviderSecretsWriter, SigningKeyWriter } from './apply.js';

/**
 * Writes client secrets to Secrets Manager: PutSecretValue makes a new AWSCURRENT version, the
 * only one the broker reads. The rotation overlap is inside the document (previous and
 * previousUntil per client), so the AWSPREVIOUS version Secrets Manager keeps is never accepted.
 */
export class SecretsManagerWriter implements ClientSecretsWriter {
  constructor(
    private readonly client: SecretsManagerClient,
    private readonly secretId: string,
  ) {}

  async currentClientSecrets(): Promise<ClientSecretsDocument> {
    const result = await this.client.send(new GetSecretValueCommand({ SecretId: this.secretId, VersionStage: 'AWSCURRENT' }));
    let parsed: unknown;
    try {
      parsed = JSON.parse(result.SecretString ?? '{}');
    } catch {
      // An unreadable value is simply replaced by the seed's.
      return {};
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return {};
    return parseClientSecretsDocument(parsed as Record<string, unknown>, `secret ${this.secretId}`);
  }

  async putClientSecrets(secrets: ClientSecretsDocument): Promise<void> {
    await this.client.send(new PutSecretValueCommand({ SecretId: this.secretId, SecretString: JSON.stringify(secrets) }));
  }
}

/** The private signing keys, one JSON document `{ "keys": [...] }`, newest first. */
export class SecretsManagerSigningKeyWriter implements SigningKeyWriter {
  constructor(
    private readonly client: SecretsManagerClient,
    private readonly secretId: string,
  ) {}

  async currentSigningKeys(): Promise<PrivateSigningKey[]> {
    const result = await this.client.send(new GetSecretValueCommand({ SecretId: this.secretId }));
    try {
      const keys = (JSON.parse(result.SecretString ?? '{}') as { keys?: PrivateSigningKey[] }).keys;
      return Array.isArray(keys) ? keys : [];
    } catch {
      return [];
    }
  }

  async putSigningKeys(keys: PrivateSigningKey[]): Promise<void> {
    await this.client.send(new PutSecretValueCommand({ SecretId: this.secretId, SecretString: JSON.stringify({ keys }) }));
  }
}

/**
 * The identity providers' client secrets, one JSON document `{ tenant: { name: secret } }`; each
 * seed that changes one writes a new AWSCURRENT version (no overlap: the provider decides which of
 * its secrets it accepts). An unreadable value is replaced by the seed's.
 */
export class SecretsManagerProviderSecretsWriter implements ProviderSecretsWriter {
  constructor(
    private readonly client: SecretsManagerClient,
    private readonly secretId: string,
  ) {}

  async currentProviderSecrets(): Promise<ProviderSecretsDocument> {
    const result = await this.client.send(new GetSecretValueCommand({ SecretId: this.secretId, VersionStage: 'AWSCURRENT' }));
    try {
      return parseProviderSecretsDocument(JSON.parse(result.SecretString ?? '{}'), `secret ${this.secretId}`);
    } catch {
      return {};
    }
  }

  async putProviderSecrets(secrets: ProviderSecretsDocument): Promise<void> {
    await this.client.send(new PutSecretValueCommand({ SecretId: this.secretId, SecretString: JSON.stringify(secrets) }));
  }
}
