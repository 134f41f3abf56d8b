import { DeleteItemCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { resolveSettings, type ServiceClient, type Tenant } from '../domain/tenant.js';
import type { AccessTokenRecord, CachedServiceToken, DirectoryStore, FoundToken, TokenStore } from '../ports.js';
import { fromFamilyItem } from './dynamodb-sessions.js';
import { DynamoTable, n, num, optNum, s, selectorOf, str, tokenKey, type Item } from './dynamodb-table.js';

/**
 * The single-table DynamoDB adapter. Keys (`pk`, `sk`):
 *
 * | item                 | pk                  | sk         | ttl            |
 * |----------------------|---------------------|------------|----------------|
 * | tenant settings      | `TENANT`            | tenant     | –              |
 * | service client       | `CLIENT`            | client id  | –              |
 *
 * A service client item holds `doc` (its configuration, JSON, written by the seed) and, after
 * the incident CLI revoked its tokens, `tokensRevokedAt` (a number the seed leaves alone).
 *
 * | item                 | pk                  | sk         | ttl            |
 * |----------------------|---------------------|------------|----------------|
 * | access token record  | `T#<selector>`      | `T`        | its expiry     |
 * | cached service token | `CACHE#<client id>` | scope key  | its expiry     |
 *
 * Every rule that needs atomicity is one conditional write to one item: dynalite (local mode)
 * has no transactions, and DynamoDB's TTL deletion may lag for days, so expiry is always
 * checked in code and `ttl` only keeps the table small.
 */

export class DynamoDbStore implements DirectoryStore, TokenStore {
  private readonly table: DynamoTable;

  constructor(client: DynamoDBClient, tableName: string) {
    this.table = new DynamoTable(client, tableName);
  }

  private get client() {
    return this.table.client;
  }

  private get tableName() {
    return this.table.tableName;
  }

  // --- directory ---------------------------------------------------------------------------

  async getTenant(tenant: string): Promise<Tenant | undefined> {
    const item = await this.get({ pk: s('TENANT'), sk: s(tenant) });
    if (!item) return undefined;
    const doc = JSON.parse(str(item, 'doc')) as Omit<Tenant, 'tenant'>;
    return { tenant, settings: resolveSettings(doc.settings), storefrontClients: doc.storefrontClients ?? [] };
  }

  async putTenant(tenant: Tenant): Promise<void> {
    const doc = { settings: tenant.settings, storefrontClients: tenant.storefrontClients };
    await this.put({ pk: s('TENANT'), sk: s(tenant.tenant), doc: s(JSON.stringify(doc)) });
  }

  async getServiceClient(clientId: string): Promise<ServiceClient | undefined> {
    const item = await this.get({ pk: s('CLIENT'), sk: s(clientId) });
    return item ? toServiceClient(item) : undefined;
  }

  /** An update, not a put: the `tokensRevokedAt` the incident CLI set survives the next seed. */
  async putServiceClient(client: ServiceClient): Promise<void> {
    const { clientId, tokensRevokedAt: _kept, ...doc } = client;
    await this.call(() =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { pk: s('CLIENT'), sk: s(clientId) },
          UpdateExpression: 'SET warmup = :warmup, doc = :doc',
          ExpressionAttributeValues: { ':warmup': { BOOL: client.warmup }, ':doc': s(JSON.stringify(doc)) },
        }),
      ),
    );
  }

  async revokeServiceClientTokens(clientId: string, at: number): Promise<ServiceClient | undefined> {
    let updated: Item | undefined;
    const matched = await this.table.conditional(async () => {
      const result = await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { pk: s('CLIENT'), sk: s(clientId) },
          UpdateExpression: 'SET tokensRevokedAt = :at',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':at': n(at) },
          ReturnValues: 'ALL_NEW',
        }),
      );
      updated = result.Attributes;
    });
    return matched && updated ? toServiceClient(updated) : undefined;
  }

  async listTenantIds(): Promise<string[]> {
    return (await this.table.queryPartition('TENANT', { projection: 'sk' })).map((item) => str(item, 'sk'));
  }

  async listServiceClientIds(): Promise<string[]> {
    return (await this.table.queryPartition('CLIENT', { projection: 'sk' })).map((item) => str(item, 'sk'));
  }

  async listWarmupClients(): Promise<ServiceClient[]> {
    const items = await this.table.queryPartition('CLIENT', { filter: { expression: 'warmup = :yes', values: { ':yes': { BOOL: true } } } });
    return items.map(toServiceClient);
  }

  async deleteTenant(tenant: string): Promise<void> {
    await this.table.delete({ pk: s('TENANT'), sk: s(tenant) });
  }

  async deleteServiceClient(clientId: string): Promise<void> {
    await this.table.delete({ pk: s('CLIENT'), sk: s(clientId) });
  }

  // --- access tokens -----------------------------------------------------------------------

  async putAccessToken(record: AccessTokenRecord): Promise<void> {
    await this.table.create({
      ...tokenKey(record.selector),
      kind: s('access'),
      hash: s(record.hash),
      tenant: s(record.tenant),
      clientId: s(record.clientId),
      scopes: s(record.scopes.join(' ')),
      iat: n(record.issuedAt),
      exp: n(record.expiresAt),
      ttl: n(record.expiresAt),
    });
  }

  async findToken(selector: string): Promise<FoundToken | undefined> {
    const item = await this.get(tokenKey(selector));
    if (!item) return undefined;
    const kind = str(item, 'kind');
    if (kind === 'access') return { kind, record: toAccessToken(item) };
    if (kind === 'session') return { kind, family: fromFamilyItem(item) };
    return undefined;
  }

  async revokeAccessToken(
    selector: string,
    hash: string,
    tenant: string,
    now: number,
    clientId?: string,
  ): Promise<AccessTokenRecord | undefined> {
    let updated: Item | undefined;
    const values: Item = { ':now': n(now), ':access': s('access'), ':hash': s(hash), ':tenant': s(tenant) };
    let condition = 'attribute_exists(pk) AND kind = :access AND #hash = :hash AND tenant = :tenant';
    if (clientId !== undefined) {
      condition += ' AND clientId = :client';
      values[':client'] = s(clientId);
    }
    const matched = await this.table.conditional(async () => {
      const result = await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: tokenKey(selector),
          UpdateExpression: 'SET revokedAt = if_not_exists(revokedAt, :now)',
          ConditionExpression: condition,
          ExpressionAttributeNames: { '#hash': 'hash' },
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      updated = result.Attributes;
    });
    return matched && updated ? toAccessToken(updated) : undefined;
  }

  // --- service token cache -------------------------------------------------------------------

  async getCachedServiceToken(clientId: string, scopeKey: string): Promise<CachedServiceToken | undefined> {
    const item = await this.get({ pk: s(`CACHE#${clientId}`), sk: s(scopeKey) });
    if (!item) return undefined;
    return {
      clientId,
      scopeKey,
      selector: str(item, 'selector'),
      sealed: str(item, 'sealed'),
      issuedAt: num(item, 'iat'),
      expiresAt: num(item, 'exp'),
    };
  }

  async putCachedServiceToken(entry: CachedServiceToken): Promise<void> {
    await this.put({
      pk: s(`CACHE#${entry.clientId}`),
      sk: s(entry.scopeKey),
      selector: s(entry.selector),
      sealed: s(entry.sealed),
      iat: n(entry.issuedAt),
      exp: n(entry.expiresAt),
      ttl: n(entry.expiresAt),
    });
  }

  async dropCachedServiceToken(clientId: string, scopeKey: string, selector: string): Promise<void> {
    // A newer token may already have replaced the revoked one; that one stays.
    await this.table.conditional(() =>
      this.client.send(
        new DeleteItemCommand({
          TableName: this.tableName,
          Key: { pk: s(`CACHE#${clientId}`), sk: s(scopeKey) },
          ConditionExpression: 'selector = :selector',
          ExpressionAttributeValues: { ':selector': s(selector) },
        }),
      ),
    );
  }

  private get(key: Item): Promise<Item | undefined> {
    return this.table.get(key);
  }

  private put(item: Item): Promise<void> {
    return this.table.put(item);
  }

  private call<T>(send: () => Promise<T>): Promise<T> {
    return this.table.call(send);
  }
}

function toServiceClient(item: Item): ServiceClient {
  const { tokensRevokedAt: _ignored, ...doc } = JSON.parse(str(item, 'doc')) as Omit<ServiceClient, 'clientId'>;
  const client: ServiceClient = { clientId: str(item, 'sk'), ...doc };
  const tokensRevokedAt = optNum(item, 'tokensRevokedAt');
  if (tokensRevokedAt !== undefined) client.tokensRevokedAt = tokensRevokedAt;
  return client;
}

function toAccessToken(item: Item): AccessTokenRecord {
  const scopes = str(item, 'scopes');
  const record: AccessTokenRecord = {
    selector: selectorOf(item),
    hash: str(item, 'hash'),
    tenant: str(item, 'tenant'),
    clientId: str(item, 'clientId'),
    scopes: scopes === '' ? [] : scopes.split(' '),
    issuedAt: num(item, 'iat'),
    expiresAt: num(item, 'exp'),
  };
  const revokedAt = optNum(item, 'revokedAt');
  if (revokedAt !== undefined) record.revokedAt = revokedAt;
  return record;
}
