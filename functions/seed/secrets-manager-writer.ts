import { GetSecretValueCommand, PutSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SecretMap } from '../adapters/client-secrets.js';
import type { ClientSecretsWriter } from './apply.js';

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
