import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbSessions } from '../../functions/adapters/dynamodb-sessions.js';
import { DynamoDbStore } from '../../functions/adapters/dynamodb-store.js';
import { MemoryStore } from '../../functions/adapters/memory-store.js';
import type { SessionFamily } from '../../functions/domain/session.js';
import { mintToken, newSelector } from '../../functions/domain/tokens.js';
import { startEmbeddedDynamoDb, type EmbeddedDynamoDb } from '../../functions/local/embedded-dynamodb.js';
import type { CustomerStore, DirectoryStore, PublicKeyStore, SessionStore, TokenStore } from '../../functions/ports.js';

/**
 * One contract, two stores: the DynamoDB adapters on dynalite and the in-memory store the
 * benchmark uses. Both must accept and refuse exactly the same conditional writes.
 */

type Stores = DirectoryStore & TokenStore & SessionStore & CustomerStore & PublicKeyStore;

let dynamo: EmbeddedDynamoDb;
beforeAll(async () => {
  dynamo = await startEmbeddedDynamoDb(undefined);
});
afterAll(() => dynamo.close());

function dynamoStores(): Stores {
  const tokens = new DynamoDbStore(dynamo.client, dynamo.tableName);
  const sessions = new DynamoDbSessions(dynamo.client, dynamo.tableName);
  const stores: Record<string, unknown> = {};
  for (const source of [tokens, sessions]) {
    const methods = Object.entries(Object.getOwnPropertyDescriptors(Object.getPrototypeOf(source)));
    for (const [name, descriptor] of methods) {
      if (name !== 'constructor' && typeof descriptor.value === 'function') stores[name] = descriptor.value.bind(source);
    }
  }
  return stores as unknown as Stores;
}

const NOW = 1_900_000_000;

function newFamily(overrides: Partial<SessionFamily> = {}) {
  const selector = newSelector();
  const access = mintToken(selector);
  const refresh = mintToken(selector, 0);
  const family: SessionFamily = {
    selector,
    kind: 'customer',
    tenant: 'acme',
    clientId: 'web',
    sessionId: 'session-1',
    issuedAt: NOW,
    context: { currency: 'EUR' },
    customer: { customerNumber: 'C-1', email: 'a@example.com', legalEntities: ['LE-1'] },
    access: { hash: access.hash, expiresAt: NOW + 100 },
    refresh: { hash: refresh.hash, expiresAt: NOW + 1000 },
    consumedHashes: [],
    ...overrides,
  };
  return { family, access, refresh };
}

function rotation(selector: string, consumedHash: string, slot = 0, legalEntityId?: string) {
  const access = mintToken(selector);
  const refresh = mintToken(selector, slot + 1);
  return {
    access: { hash: access.hash, expiresAt: NOW + 200 },
    refresh: { hash: refresh.hash, expiresAt: NOW + 2000 },
    rotation: { consumedHash, rotatedAt: NOW, sealedSuccessor: 'sealed' },
    consumedSlot: slot,
    ...(legalEntityId ? { legalEntityId } : {}),
  };
}

describe.each([
  ['memory', () => new MemoryStore() as Stores],
  ['dynamodb (dynalite)', dynamoStores],
])('%s store', (_name, makeStores) => {
  let stores: Stores;
  beforeAll(() => {
    stores = makeStores();
  });

  it('stores service-token records and revokes only on matching hash and tenant, once', async () => {
    const token = mintToken();
    await stores.putAccessToken({ selector: token.selector, hash: token.hash, tenant: 'acme', clientId: 'c', scopes: ['a', 'b'], issuedAt: NOW, expiresAt: NOW + 10 });
    expect(await stores.findToken(token.selector)).toEqual({
      kind: 'access',
      record: { selector: token.selector, hash: token.hash, tenant: 'acme', clientId: 'c', scopes: ['a', 'b'], issuedAt: NOW, expiresAt: NOW + 10 },
    });
    expect(await stores.revokeAccessToken(token.selector, mintToken().hash, 'acme', NOW)).toBeUndefined();
    expect(await stores.revokeAccessToken(token.selector, token.hash, 'globex', NOW)).toBeUndefined();
    expect((await stores.revokeAccessToken(token.selector, token.hash, 'acme', NOW + 1))?.revokedAt).toBe(NOW + 1);
    expect((await stores.revokeAccessToken(token.selector, token.hash, 'acme', NOW + 5))?.revokedAt).toBe(NOW + 1);
    expect(await stores.findToken(newSelector())).toBeUndefined();
  });

  it('revokes a service token for its own client only, when asked to check the client (RFC 7009 section 2.1)', async () => {
    const token = mintToken();
    await stores.putAccessToken({ selector: token.selector, hash: token.hash, tenant: 'acme', clientId: 'c', scopes: ['a'], issuedAt: NOW, expiresAt: NOW + 10 });
    expect(await stores.revokeAccessToken(token.selector, token.hash, 'acme', NOW, 'other')).toBeUndefined();
    const found = await stores.findToken(token.selector);
    expect(found?.kind === 'access' ? found.record : undefined).toMatchObject({ clientId: 'c' });
    expect(found?.kind === 'access' ? found.record.revokedAt : 'not found').toBeUndefined();
    expect((await stores.revokeAccessToken(token.selector, token.hash, 'acme', NOW + 1, 'c'))?.revokedAt).toBe(NOW + 1);
  });

  it('drops a cached service token only while it is still the one cached', async () => {
    const entry = { clientId: 'c', scopeKey: 'a b', selector: 's1', sealed: 'x', issuedAt: NOW, expiresAt: NOW + 10 };
    await stores.putCachedServiceToken(entry);
    await stores.dropCachedServiceToken('c', 'a b', 'other');
    expect(await stores.getCachedServiceToken('c', 'a b')).toEqual(entry);
    await stores.dropCachedServiceToken('c', 'a b', 's1');
    expect(await stores.getCachedServiceToken('c', 'a b')).toBeUndefined();
  });

  it('rotates a session once per refresh token, remembering the consumed hash', async () => {
    const { family, access, refresh } = newFamily();
    await stores.createSession(family);
    const expected = { presentedHash: refresh.hash, tenant: 'acme', kind: 'customer' as const, clientId: 'web', now: NOW };
    const next = rotation(family.selector, refresh.hash);
    const won = await stores.rotateSession(family.selector, expected, next);
    expect(won.outcome).toBe('rotated');
    if (won.outcome !== 'rotated') return;
    expect(won.family.access).toEqual(next.access);
    expect(won.family.previousAccess).toEqual({ hash: access.hash, expiresAt: NOW + 100 });
    expect(won.family.refresh).toEqual(next.refresh);
    expect(won.family.rotation).toEqual(next.rotation);
    expect(won.family.consumedHashes).toEqual([refresh.hash]);
    expect(await stores.rotateSession(family.selector, expected, rotation(family.selector, refresh.hash))).toEqual({ outcome: 'conflict' });
    expect(await stores.findSession(family.selector)).toEqual(won.family);
  });

  it('refuses a rotation for the wrong kind, tenant, client, an expired token or a revoked family', async () => {
    const base = { tenant: 'acme', kind: 'customer' as const, clientId: 'web', now: NOW };
    const cases = [{ kind: 'anonymous' as const }, { tenant: 'globex' }, { clientId: 'other' }, { now: NOW + 1000 }];
    for (const change of cases) {
      const { family, refresh } = newFamily();
      await stores.createSession(family);
      const outcome = await stores.rotateSession(family.selector, { ...base, presentedHash: refresh.hash, ...change }, rotation(family.selector, refresh.hash));
      expect(outcome, JSON.stringify(change)).toEqual({ outcome: 'conflict' });
    }
    const { family, refresh } = newFamily();
    await stores.createSession(family);
    expect(await stores.revokeSession(family.selector, NOW)).toBe(true);
    expect(await stores.rotateSession(family.selector, { ...base, presentedHash: refresh.hash }, rotation(family.selector, refresh.hash))).toEqual({
      outcome: 'conflict',
    });
  });

  it('switches the legal entity only to one the customer holds', async () => {
    const { family, refresh } = newFamily();
    await stores.createSession(family);
    const expected = { presentedHash: refresh.hash, tenant: 'acme', kind: 'customer' as const, now: NOW };
    expect(await stores.rotateSession(family.selector, expected, rotation(family.selector, refresh.hash, 0, 'LE-9'))).toEqual({ outcome: 'conflict' });
    const switched = await stores.rotateSession(family.selector, expected, rotation(family.selector, refresh.hash, 0, 'LE-1'));
    expect(switched.outcome === 'rotated' && switched.family.customer?.legalEntityId).toBe('LE-1');
  });

  it('renews an anonymous access token from the current or previous one, and nothing else', async () => {
    const { family, access } = newFamily({ kind: 'anonymous', customer: undefined });
    await stores.createSession(family);
    const expected = { presentedHash: access.hash, tenant: 'acme', clientId: 'web', now: NOW };
    const first = { hash: mintToken(family.selector).hash, expiresAt: NOW + 50 };
    expect((await stores.renewAccess(family.selector, expected, first))?.access).toEqual(first);
    // The presented token is now the previous one: still accepted once more.
    expect(await stores.renewAccess(family.selector, expected, { hash: mintToken(family.selector).hash, expiresAt: NOW + 60 })).toBeDefined();
    expect(await stores.renewAccess(family.selector, { ...expected, presentedHash: mintToken().hash }, first)).toBeUndefined();
    expect(await stores.renewAccess(family.selector, { ...expected, clientId: 'other' }, first)).toBeUndefined();
    const customer = newFamily();
    await stores.createSession(customer.family);
    expect(await stores.renewAccess(customer.family.selector, { ...expected, presentedHash: customer.access.hash }, first)).toBeUndefined();
  });

  it('revokes a session on a matching token of a live family, once', async () => {
    const { family, access } = newFamily();
    await stores.createSession(family);
    expect(await stores.revokeSession(family.selector, NOW, { hash: mintToken().hash, tenant: 'acme' })).toBe(false);
    expect(await stores.revokeSession(family.selector, NOW, { hash: access.hash, tenant: 'globex' })).toBe(false);
    expect(await stores.revokeSession(family.selector, NOW, { hash: access.hash, tenant: 'acme' })).toBe(true);
    expect(await stores.revokeSession(family.selector, NOW + 1, { hash: access.hash, tenant: 'acme' })).toBe(false);
    expect((await stores.findSession(family.selector))?.revokedAt).toBe(NOW);
  });

  it('loads a login’s session, customer and failures together, and counts failures', async () => {
    const { family } = newFamily({ kind: 'anonymous', customer: undefined });
    await stores.createSession(family);
    const customer = { tenant: 'acme', email: 'b@example.com', passwordHash: 'h', customerNumber: 'C-2', legalEntities: ['LE-1'], initialPassword: true };
    await stores.putCustomer(customer);
    expect(await stores.loadLogin(family.selector, 'acme', 'b@example.com')).toEqual({ session: family, customer });
    await stores.recordLoginFailure('acme', 'b@example.com', NOW, true, NOW + 900);
    await stores.recordLoginFailure('acme', 'b@example.com', NOW + 5, false, NOW + 905);
    expect((await stores.loadLogin(family.selector, 'acme', 'b@example.com')).failures).toEqual({ failures: 2, lastFailureAt: NOW + 5 });
    await stores.recordLoginFailure('acme', 'b@example.com', NOW + 2000, true, NOW + 2900);
    expect((await stores.loadLogin(family.selector, 'acme', 'b@example.com')).failures).toEqual({ failures: 1, lastFailureAt: NOW + 2000 });
    await stores.clearLoginFailures('acme', 'b@example.com');
    expect((await stores.loadLogin(newSelector(), 'acme', 'nobody@example.com'))).toEqual({});
    expect((await stores.loadLogin(family.selector, 'acme', 'b@example.com')).failures).toBeUndefined();
  });

  it('keeps, lists and removes directory entries, and keeps published keys as written', async () => {
    const tenant = { tenant: 'acme', settings: { refreshGraceSeconds: 5, lifetimes: { anonymousAccess: 1, anonymousRefresh: 2, customerAccess: 3, customerRefresh: 4, serviceAccess: 5, grantAccess: 6, grantRefresh: 7 }, secretRotationOverlapSeconds: 8 }, storefrontClients: ['web'] };
    await stores.putTenant(tenant);
    expect(await stores.getTenant('acme')).toEqual(tenant);
    await stores.putServiceClient({ clientId: 'w1', tenant: 'acme', scopes: ['a'], warmup: true, profile: 'oauth2' });
    await stores.putServiceClient({ clientId: 'w2', tenant: 'acme', scopes: ['a'], warmup: false, profile: 'emporix' });
    expect((await stores.listWarmupClients()).map((c) => c.clientId)).toEqual(['w1']);
    expect((await stores.listServiceClientIds()).sort()).toEqual(['w1', 'w2']);
    await stores.deleteServiceClient('w2');
    expect(await stores.getServiceClient('w2')).toBeUndefined();
    expect(await stores.listServiceClientIds()).toEqual(['w1']);
    await stores.putTenant({ ...tenant, tenant: 'globex' });
    expect((await stores.listTenantIds()).sort()).toEqual(['acme', 'globex']);
    await stores.deleteTenant('globex');
    expect(await stores.listTenantIds()).toEqual(['acme']);
    const keys = [{ jwk: { kty: 'EC', kid: 'k1' } }, { jwk: { kty: 'EC', kid: 'k0' }, notAfter: NOW }];
    await stores.putPublishedKeys(keys);
    expect(await stores.getPublishedKeys()).toEqual(keys);
  });

  it('marks a client’s tokens revoked, and keeps the mark through the next seed’s put', async () => {
    const client = { clientId: 'r1', tenant: 'acme', scopes: ['a'], warmup: true, profile: 'oauth2' as const };
    expect(await stores.revokeServiceClientTokens('r1', NOW)).toBeUndefined();
    expect(await stores.getServiceClient('r1')).toBeUndefined();
    await stores.putServiceClient(client);
    expect(await stores.revokeServiceClientTokens('r1', NOW)).toEqual({ ...client, tokensRevokedAt: NOW });
    await stores.putServiceClient({ ...client, scopes: ['a', 'b'], tokensRevokedAt: 1 });
    expect(await stores.getServiceClient('r1')).toEqual({ ...client, scopes: ['a', 'b'], tokensRevokedAt: NOW });
    expect((await stores.listWarmupClients()).find((c) => c.clientId === 'r1')).toEqual({ ...client, scopes: ['a', 'b'], tokensRevokedAt: NOW });
    await stores.deleteServiceClient('r1');
    expect(await stores.getServiceClient('r1')).toBeUndefined();
  });
});
