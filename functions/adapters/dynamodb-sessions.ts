import { UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CONSUMED_SLOTS, type CustomerIdentity, type SessionContext, type SessionFamily, type SessionKind, type TokenSlot } from '../domain/session.js';
import type { PublishedKey } from '../domain/signing-keys.js';
import type {
  CustomerRecord,
  CustomerStore,
  LoginContext,
  PublicKeyStore,
  RotationOutcome,
  RotationWrite,
  SessionStore,
} from '../ports.js';
import { DynamoTable, n, num, optNum, optStr, s, selectorOf, str, tokenKey, type Item } from './dynamodb-table.js';

/**
 * Storefront sessions, customers and the published signing keys in the broker's one table:
 *
 * | item            | pk                          | sk  | ttl                          |
 * |-----------------|-----------------------------|-----|------------------------------|
 * | session family  | `T#<selector>`              | `T` | last expiry of its tokens    |
 *   (c0…c7: hashes of recently consumed refresh tokens, by generation, for theft detection)
 * | customer        | `CUST#<tenant>#<email>`     | `C` | –                            |
 * | login failures  | `LOCK#<tenant>#<email>`     | `L` | end of the lock window       |
 * | public keys     | `JWKS`                      | `K` | –                            |
 *
 * A family shares `T#<selector>` with standalone access tokens (`kind` tells them apart), so any
 * presented token is one GetItem away. Token attributes hold SHA-256 hashes only.
 */

const customerKey = (tenant: string, email: string): Item => ({ pk: s(`CUST#${tenant}#${email}`), sk: s('C') });
const lockKey = (tenant: string, email: string): Item => ({ pk: s(`LOCK#${tenant}#${email}`), sk: s('L') });
const JWKS_KEY: Item = { pk: s('JWKS'), sk: s('K') };

export class DynamoDbSessions implements SessionStore, CustomerStore, PublicKeyStore {
  private readonly table: DynamoTable;

  constructor(client: DynamoDBClient, tableName: string) {
    this.table = new DynamoTable(client, tableName);
  }

  // --- sessions --------------------------------------------------------------------------------

  async createSession(family: SessionFamily): Promise<void> {
    await this.table.create(toFamilyItem(family));
  }

  async findSession(selector: string): Promise<SessionFamily | undefined> {
    const item = await this.table.get(tokenKey(selector));
    return item && str(item, 'kind') === 'session' ? fromFamilyItem(item) : undefined;
  }

  async rotateSession(
    selector: string,
    expected: { presentedHash: string; tenant: string; kind: SessionKind; clientId?: string; now: number },
    next: RotationWrite,
  ): Promise<RotationOutcome> {
    const names: Record<string, string> = { '#ttl': 'ttl' };
    const values: Item = {
      ':session': s('session'),
      ':kind': s(expected.kind),
      ':presented': s(expected.presentedHash),
      ':now': n(expected.now),
      ':tenant': s(expected.tenant),
      ':at': s(next.access.hash),
      ':atExp': n(next.access.expiresAt),
      ':rt': s(next.refresh.hash),
      ':rtExp': n(next.refresh.expiresAt),
      ':consumed': s(next.rotation.consumedHash),
      ':rotatedAt': n(next.rotation.rotatedAt),
      ':sealed': s(next.rotation.sealedSuccessor),
      ':ttl': n(Math.max(next.access.expiresAt, next.refresh.expiresAt)),
    };
    const conditions = [
      'kind = :session',
      'sessionKind = :kind',
      'refH = :presented',
      'refExp > :now',
      'attribute_not_exists(revokedAt)',
      'tenant = :tenant',
    ];
    const updates = [
      // The access token in flight keeps working: the current one becomes the previous one.
      'paccH = accH',
      'paccExp = accExp',
      'accH = :at',
      'accExp = :atExp',
      'refH = :rt',
      'refExp = :rtExp',
      'rotC = :consumed',
      'rotAt = :rotatedAt',
      'rotS = :sealed',
      '#ttl = :ttl',
      '#consumedSlot = :consumed',
    ];
    names['#consumedSlot'] = `c${next.consumedSlot}`;
    if (expected.clientId !== undefined) {
      conditions.push('clientId = :client');
      values[':client'] = s(expected.clientId);
    }
    if (next.legalEntityId !== undefined) {
      conditions.push('contains(les, :le)');
      updates.push('le = :le');
      values[':le'] = s(next.legalEntityId);
    }
    let updated: Item | undefined;
    const won = await this.table.conditional(async () => {
      const result = await this.table.client.send(
        new UpdateItemCommand({
          TableName: this.table.tableName,
          Key: tokenKey(selector),
          UpdateExpression: `SET ${updates.join(', ')}`,
          ConditionExpression: conditions.join(' AND '),
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      updated = result.Attributes;
    });
    return won && updated ? { outcome: 'rotated', family: fromFamilyItem(updated) } : { outcome: 'conflict' };
  }

  async renewAccess(
    selector: string,
    expected: { presentedHash: string; tenant: string; clientId: string; now: number },
    access: TokenSlot,
  ): Promise<SessionFamily | undefined> {
    let updated: Item | undefined;
    const renewed = await this.table.conditional(async () => {
      const result = await this.table.client.send(
        new UpdateItemCommand({
          TableName: this.table.tableName,
          Key: tokenKey(selector),
          UpdateExpression: 'SET paccH = accH, paccExp = accExp, accH = :at, accExp = :atExp',
          ConditionExpression:
            'kind = :session AND sessionKind = :anonymous AND tenant = :tenant AND clientId = :client AND ' +
            '(accH = :presented OR paccH = :presented) AND refExp > :now AND attribute_not_exists(revokedAt)',
          ExpressionAttributeValues: {
            ':session': s('session'),
            ':anonymous': s('anonymous'),
            ':tenant': s(expected.tenant),
            ':client': s(expected.clientId),
            ':presented': s(expected.presentedHash),
            ':now': n(expected.now),
            ':at': s(access.hash),
            ':atExp': n(access.expiresAt),
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      updated = result.Attributes;
    });
    return renewed && updated ? fromFamilyItem(updated) : undefined;
  }

  async revokeSession(selector: string, now: number, matching?: { hash: string; tenant: string }): Promise<boolean> {
    const values: Item = { ':now': n(now), ':session': s('session') };
    let condition = 'kind = :session';
    if (matching) {
      // A token of an already ended family matches nothing: logging out twice is a 401.
      condition += ' AND attribute_not_exists(revokedAt) AND tenant = :tenant AND (accH = :hash OR paccH = :hash OR refH = :hash)';
      values[':tenant'] = s(matching.tenant);
      values[':hash'] = s(matching.hash);
    }
    return this.table.conditional(() =>
      this.table.client.send(
        new UpdateItemCommand({
          TableName: this.table.tableName,
          Key: tokenKey(selector),
          UpdateExpression: 'SET revokedAt = if_not_exists(revokedAt, :now)',
          ConditionExpression: condition,
          ExpressionAttributeValues: values,
        }),
      ),
    );
  }

  // --- customers and login failures ------------------------------------------------------------

  async loadLogin(sessionSelector: string, tenant: string, email: string): Promise<LoginContext> {
    const items = await this.table.getMany([tokenKey(sessionSelector), customerKey(tenant, email), lockKey(tenant, email)]);
    const context: LoginContext = {};
    for (const item of items) {
      const pk = str(item, 'pk');
      if (pk.startsWith('T#') && str(item, 'kind') === 'session') context.session = fromFamilyItem(item);
      else if (pk.startsWith('CUST#')) context.customer = fromCustomerItem(item);
      else if (pk.startsWith('LOCK#')) context.failures = { failures: num(item, 'failures'), lastFailureAt: num(item, 'lastFailureAt') };
    }
    return context;
  }

  async getCustomer(tenant: string, email: string): Promise<CustomerRecord | undefined> {
    const item = await this.table.get(customerKey(tenant, email));
    return item ? fromCustomerItem(item) : undefined;
  }

  async putCustomer(customer: CustomerRecord): Promise<void> {
    await this.table.put({
      ...customerKey(customer.tenant, customer.email),
      passwordHash: s(customer.passwordHash),
      customerNumber: s(customer.customerNumber),
      legalEntities: s(JSON.stringify(customer.legalEntities)),
      initialPassword: { BOOL: customer.initialPassword },
    });
  }

  async recordLoginFailure(tenant: string, email: string, now: number, restart: boolean, expiresAt: number): Promise<void> {
    await this.table.call(() =>
      this.table.client.send(
        new UpdateItemCommand({
          TableName: this.table.tableName,
          Key: lockKey(tenant, email),
          UpdateExpression: restart
            ? 'SET failures = :one, lastFailureAt = :now, #ttl = :ttl'
            : 'ADD failures :one SET lastFailureAt = :now, #ttl = :ttl',
          ExpressionAttributeNames: { '#ttl': 'ttl' },
          ExpressionAttributeValues: { ':one': n(1), ':now': n(now), ':ttl': n(expiresAt) },
        }),
      ),
    );
  }

  async clearLoginFailures(tenant: string, email: string): Promise<void> {
    await this.table.delete(lockKey(tenant, email));
  }

  // --- published signing keys ------------------------------------------------------------------

  async getPublishedKeys(): Promise<PublishedKey[]> {
    const item = await this.table.get(JWKS_KEY);
    return item ? (JSON.parse(str(item, 'keys')) as PublishedKey[]) : [];
  }

  async putPublishedKeys(keys: PublishedKey[]): Promise<void> {
    await this.table.put({ ...JWKS_KEY, keys: s(JSON.stringify(keys)) });
  }
}

function toFamilyItem(family: SessionFamily): Item {
  const item: Item = {
    ...tokenKey(family.selector),
    kind: s('session'),
    sessionKind: s(family.kind),
    tenant: s(family.tenant),
    clientId: s(family.clientId),
    sessionId: s(family.sessionId),
    iat: n(family.issuedAt),
    ctx: s(JSON.stringify(family.context)),
    accH: s(family.access.hash),
    accExp: n(family.access.expiresAt),
    refH: s(family.refresh.hash),
    refExp: n(family.refresh.expiresAt),
    ttl: n(Math.max(family.access.expiresAt, family.refresh.expiresAt)),
  };
  if (family.customer) {
    const { legalEntityId, legalEntities, ...identity } = family.customer;
    item.customer = s(JSON.stringify(identity));
    // A string set, so the rotation's condition can check a legal entity with contains().
    if (legalEntities.length > 0) item.les = { SS: legalEntities };
    if (legalEntityId !== undefined) item.le = s(legalEntityId);
  }
  return item;
}

export function fromFamilyItem(item: Item): SessionFamily {
  const family: SessionFamily = {
    selector: selectorOf(item),
    kind: str(item, 'sessionKind') as SessionFamily['kind'],
    tenant: str(item, 'tenant'),
    clientId: str(item, 'clientId'),
    sessionId: str(item, 'sessionId'),
    issuedAt: num(item, 'iat'),
    context: JSON.parse(str(item, 'ctx') || '{}') as SessionContext,
    access: { hash: str(item, 'accH'), expiresAt: num(item, 'accExp') },
    refresh: { hash: str(item, 'refH'), expiresAt: num(item, 'refExp') },
    consumedHashes: [],
  };
  const previousAccess = optStr(item, 'paccH');
  if (previousAccess !== undefined) family.previousAccess = { hash: previousAccess, expiresAt: num(item, 'paccExp') };
  const consumed = optStr(item, 'rotC');
  if (consumed !== undefined) {
    family.rotation = { consumedHash: consumed, rotatedAt: num(item, 'rotAt'), sealedSuccessor: str(item, 'rotS') };
  }
  for (let slot = 0; slot < CONSUMED_SLOTS; slot++) {
    const hash = optStr(item, `c${slot}`);
    if (hash !== undefined) family.consumedHashes.push(hash);
  }
  const revokedAt = optNum(item, 'revokedAt');
  if (revokedAt !== undefined) family.revokedAt = revokedAt;
  const customer = optStr(item, 'customer');
  if (customer !== undefined) {
    const identity: CustomerIdentity = {
      ...(JSON.parse(customer) as Omit<CustomerIdentity, 'legalEntities' | 'legalEntityId'>),
      legalEntities: item.les?.SS ?? [],
    };
    const legalEntityId = optStr(item, 'le');
    if (legalEntityId !== undefined) identity.legalEntityId = legalEntityId;
    family.customer = identity;
  }
  return family;
}

function fromCustomerItem(item: Item): CustomerRecord {
  const [, tenant = '', ...email] = str(item, 'pk').split('#');
  return {
    tenant,
    email: email.join('#'),
    passwordHash: str(item, 'passwordHash'),
    customerNumber: str(item, 'customerNumber'),
    legalEntities: JSON.parse(str(item, 'legalEntities') || '[]') as string[],
    initialPassword: item.initialPassword?.BOOL ?? false,
  };
}
