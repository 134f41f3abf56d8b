import type { PublishedKey } from '../../domain/signing-keys.js';
import type { PublicKeyStore } from '../../ports.js';
import { json, s } from './item.js';
import { JWKS_KEY } from './keys.js';
import type { DynamoTable } from './table.js';

/** The published signing keys (`JWKS`): the seed writes them, discovery serves them. */
export class DynamoPublicKeys implements PublicKeyStore {
  constructor(private readonly table: DynamoTable) {}

  async getPublishedKeys(): Promise<PublishedKey[]> {
    const item = await this.table.get(JWKS_KEY);
    return item ? json<PublishedKey[]>(item, 'keys') : [];
  }

  async putPublishedKeys(keys: PublishedKey[]): Promise<void> {
    await this.table.put({ ...JWKS_KEY, keys: s(JSON.stringify(keys)) });
  }
}
