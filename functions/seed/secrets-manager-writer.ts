import { GetSecretValueCommand, PutSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SecretMap } from '../adapters/client-secrets.js';
import type { PrivateSigningKey } from '../domain/signing-keys.js';
import type { ClientSecretsWriter, SigningKeyWriter } from './apply.js';

/**
 * Writes client secrets to Secrets Manager. PutSecretValue makes a new AWSCURRENT version and
 * moves the replaced one to AWSPREVIOUS, which the broker keeps accepting: that is the rotation.
 */
export class SecretsManagerWriter implements ClientSecretsWriter {
  constructor(
    private readonly client: SecretsManagerClient,
    private readonly secretId: string,
  ) {}

  async currentClientSecrets(): Promise<SecretMap> {
    const result = await this.client.send(new GetSecretValueCommand({ SecretId: this.secretId, VersionStage: 'AWSCURRENT' }));
    try {
      return JSON.parse(result.SecretString ?? '{}') as SecretMap;
    } catch {
      // An unreadable value is simply replaced by the seed's.
      return {};
    }
  }

  async putClientSecrets(secrets: SecretMap): Promise<void> {
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
