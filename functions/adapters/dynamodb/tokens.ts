import { DeleteItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { AccessTokenRecord, CachedServiceToken, FoundToken, TokenStore } from '../../ports.js';
import { fromFamilyItem } from './families.js';
import { n, num, optNum, s, selectorOf, str, type Item } from './item.js';
import { cacheKey, tokenKey } from './keys.js';
import type { DynamoTable } from './table.js';

/**
 * Access tokens (`T#<selector>`, `kind` = `access`) and the service-token cache
 * (`CACHE#<client id>`, one item per scope key). Every rule that needs atomicity is one
 * conditional write to one item: dynalite (local mode) has no transactions, and DynamoDB's TTL
 * deletion may lag for days, so expiry is always checked in code and `ttl` only keeps the table
 * small.
 */
export class DynamoTokens implements TokenStore {
  constructor(private readonly table: DynamoTable) {}

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

  /** Either kind of token item: the one GetItem a presented token costs. */
  async findToken(selector: string): Promise<FoundToken | undefined> {
    const item = await this.table.get(tokenKey(selector));
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
      const result = await this.table.client.send(
        new UpdateItemCommand({
          TableName: this.table.tableName,
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
    const item = await this.table.get(cacheKey(clientId, scopeKey));
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
    await this.table.put({
      ...cacheKey(entry.clientId, entry.scopeKey),
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
      this.table.client.send(
        new DeleteItemCommand({
          TableName: this.table.tableName,
          Key: cacheKey(clientId, scopeKey),
          ConditionExpression: 'selector = :selector',
          ExpressionAttributeValues: { ':selector': s(selector) },
        }),
      ),
    );
  }
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
