import { resolveSettings, type AppClient } from '../../functions/domain/tenant.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbSessions, DynamoDbStore } from '../../functions/adapters/dynamodb/stores.js';
import { MemoryStore } from '../../functions/adapters/memory-store.js';
import { attemptLimits } from '../../functions/domain/login-throttle.js';
import {
  applyRenewal,
  applyRotation,
  classifyFailedRotation,
  renewalRefusal,
  rotationRefusal,
  type FailedRotation,
  type RefreshFamily,
  type RenewalClause,
  type RotationClause,
} from '../../functions/domain/refresh-family.js';
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

/** A grant family (an app's, after a code's redemption): no context, granted scopes. */
const GRANT: Partial<RefreshFamily> = {
  kind: 'grant',
  context: {},
  customer: { customerNumber: 'C-1', email: 'a@example.com', legalEntities: [] },
  scopes: ['order.read', 'profile'],
};

function newFamily(overrides: Partial<RefreshFamily> = {}) {
  const selector = newSelector();
  const access = mintToken(selector);
  const refresh = mintToken(selector, 0);
  const family: RefreshFamily = {
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

function rotation(selector: string, consumedHash: string, slot = 0, legalEntityId?: string, scopes?: string[]) {
  const access = mintToken(selector);
  const refresh = mintToken(selector, slot + 1);
  return {
    access: { hash: access.hash, expiresAt: NOW + 200, ...(scopes ? { scopes } : {}) },
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
    await stores.putAccessToken({
      selector: token.selector,
      hash: token.hash,
      tenant: 'acme',
      clientId: 'c',
      scopes: ['a', 'b'],
      issuedAt: NOW,
      expiresAt: NOW + 10,
    });
    expect(await stores.findToken(token.selector)).toEqual({
      kind: 'access',
      record: {
        selector: token.selector,
        hash: token.hash,
        tenant: 'acme',
        clientId: 'c',
        scopes: ['a', 'b'],
        issuedAt: NOW,
        expiresAt: NOW + 10,
      },
    });
    expect(await stores.revokeAccessToken(token.selector, mintToken().hash, 'acme', NOW)).toBeUndefined();
    expect(await stores.revokeAccessToken(token.selector, token.hash, 'globex', NOW)).toBeUndefined();
    expect((await stores.revokeAccessToken(token.selector, token.hash, 'acme', NOW + 1))?.revokedAt).toBe(NOW + 1);
    expect((await stores.revokeAccessToken(token.selector, token.hash, 'acme', NOW + 5))?.revokedAt).toBe(NOW + 1);
    expect(await stores.findToken(newSelector())).toBeUndefined();
  });

  it('revokes a service token for its own client only, when asked to check the client (RFC 7009 section 2.1)', async () => {
    const token = mintToken();
    await stores.putAccessToken({
      selector: token.selector,
      hash: token.hash,
      tenant: 'acme',
      clientId: 'c',
      scopes: ['a'],
      issuedAt: NOW,
      expiresAt: NOW + 10,
    });
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
      const outcome = await stores.rotateSession(
        family.selector,
        { ...base, presentedHash: refresh.hash, ...change },
        rotation(family.selector, refresh.hash),
      );
      expect(outcome, JSON.stringify(change)).toEqual({ outcome: 'conflict' });
    }
    const { family, refresh } = newFamily();
    await stores.createSession(family);
    expect(await stores.revokeSession(family.selector, NOW)).toBe(true);
    expect(
      await stores.rotateSession(family.selector, { ...base, presentedHash: refresh.hash }, rotation(family.selector, refresh.hash)),
    ).toEqual({
      outcome: 'conflict',
    });
  });

  /**
   * The rotation rule, case by case: each store's conditional write, the pure predicate of
   * domain/refresh-family.ts and (after a refusal) its classification of the family as stored.
   */
  const GRACE = 10;
  type RotationCase = {
    name: string;
    family?: Partial<RefreshFamily>;
    /** What happened to the family before the refresh. */
    before?: 'revoked' | 'rotated' | 'unknown';
    presented?: 'refresh' | 'access' | 'forged';
    change?: {
      tenant?: string;
      kind?: 'anonymous' | 'customer' | 'grant';
      clientId?: string;
      now?: number;
      legalEntityId?: string;
      scopes?: string[];
    };
    refusal: RotationClause | undefined;
    verdict?: FailedRotation['verdict'];
  };
  const rotationCases: RotationCase[] = [
    { name: 'the current token', family: { endsAt: NOW + 5000 }, refusal: undefined },
    { name: 'the current token, naming its client', change: { clientId: 'web' }, refusal: undefined },
    { name: 'a legal entity the customer holds', change: { legalEntityId: 'LE-1' }, refusal: undefined },
    { name: 'a family stored before families had an end', family: { endsAt: undefined }, refusal: undefined },
    { name: 'an expired refresh token', change: { now: NOW + 1000 }, refusal: 'unexpired', verdict: 'expired' },
    { name: 'a revoked family', before: 'revoked', refusal: 'live', verdict: 'revoked' },
    { name: 'another tenant', change: { tenant: 'globex' }, refusal: 'tenant', verdict: 'invalid' },
    { name: 'another client', change: { clientId: 'other' }, refusal: 'client', verdict: 'invalid' },
    { name: 'the wrong kind', change: { kind: 'anonymous' }, refusal: 'kind', verdict: 'invalid' },
    {
      name: 'a session past its absolute end',
      family: { endsAt: NOW + 50 },
      change: { now: NOW + 50 },
      refusal: 'beforeEnd',
      verdict: 'expired',
    },
    { name: 'a session a second before its end', family: { endsAt: NOW + 50 }, change: { now: NOW + 49 }, refusal: undefined },
    { name: 'a legal entity not held', change: { legalEntityId: 'LE-9' }, refusal: 'legalEntity', verdict: 'legal-entity-not-assigned' },
    {
      name: 'a legal entity on an anonymous session',
      family: { kind: 'anonymous', customer: undefined },
      change: { kind: 'anonymous', legalEntityId: 'LE-1' },
      refusal: 'legalEntity',
      verdict: 'legal-entity-not-assigned',
    },
    {
      name: 'the consumed token inside the grace window',
      before: 'rotated',
      change: { now: NOW + GRACE },
      refusal: 'current',
      verdict: 'retry',
    },
    {
      name: 'the consumed token after the grace window',
      before: 'rotated',
      change: { now: NOW + GRACE + 1 },
      refusal: 'current',
      verdict: 'reuse',
    },
    {
      name: 'the consumed token a second after its rotation',
      before: 'rotated',
      change: { now: NOW + 1 },
      refusal: 'current',
      verdict: 'retry',
    },
    { name: 'an access token', presented: 'access', refusal: 'current', verdict: 'invalid' },
    { name: 'a forged token under the selector', presented: 'forged', refusal: 'current', verdict: 'invalid' },
    { name: 'an unknown selector', before: 'unknown', refusal: 'exists', verdict: 'invalid' },
    // A grant family (contract section 5): a refresh may ask for fewer of its scopes, never more.
    { name: 'a grant, its whole scope', family: GRANT, change: { kind: 'grant' }, refusal: undefined },
    { name: 'a grant, a narrower scope', family: GRANT, change: { kind: 'grant', scopes: ['order.read'] }, refusal: undefined },
    {
      name: 'a grant, every granted scope named',
      family: GRANT,
      change: { kind: 'grant', scopes: ['order.read', 'profile'] },
      refusal: undefined,
    },
    {
      name: 'a grant, a scope it was not granted',
      family: GRANT,
      change: { kind: 'grant', scopes: ['order.manage'] },
      refusal: 'scope',
      verdict: 'scope-not-granted',
    },
    {
      name: 'a grant, one granted scope and one not',
      family: GRANT,
      change: { kind: 'grant', scopes: ['order.read', 'order.manage'] },
      refusal: 'scope',
      verdict: 'scope-not-granted',
    },
    {
      name: 'a grant of no scopes, asked for one',
      family: { ...GRANT, scopes: [] },
      change: { kind: 'grant', scopes: ['order.read'] },
      refusal: 'scope',
      verdict: 'scope-not-granted',
    },
    {
      name: 'a storefront session, asked for a scope',
      change: { scopes: ['order.read'] },
      refusal: 'scope',
      verdict: 'scope-not-granted',
    },
    {
      name: 'a grant, a narrower scope with another client',
      family: GRANT,
      change: { kind: 'grant', clientId: 'other', scopes: ['order.read'] },
      refusal: 'client',
      verdict: 'invalid',
    },
  ];

  it.each(rotationCases)('rotation rule: $name', async (c) => {
    const { family, access, refresh } = newFamily(c.family);
    if (c.family && 'endsAt' in c.family && c.family.endsAt === undefined) delete family.endsAt;
    if (c.before !== 'unknown') await stores.createSession(family);
    if (c.before === 'revoked') expect(await stores.revokeSession(family.selector, NOW)).toBe(true);
    if (c.before === 'rotated') {
      const first = { presentedHash: refresh.hash, tenant: 'acme', kind: family.kind, now: NOW };
      expect((await stores.rotateSession(family.selector, first, rotation(family.selector, refresh.hash))).outcome).toBe('rotated');
    }
    const hash = c.presented === 'access' ? access.hash : c.presented === 'forged' ? mintToken(family.selector).hash : refresh.hash;
    const { scopes, ...change } = c.change ?? {};
    const expected = { presentedHash: hash, tenant: 'acme', kind: family.kind, now: NOW, ...change };
    const legalEntityId = c.change?.legalEntityId;
    const presented = {
      hash,
      tenant: expected.tenant,
      kind: expected.kind,
      ...(expected.clientId ? { clientId: expected.clientId } : {}),
      ...(legalEntityId ? { legalEntityId } : {}),
      ...(scopes ? { scopes } : {}),
    };
    const next = rotation(family.selector, hash, c.before === 'rotated' ? 1 : 0, legalEntityId, scopes);
    const stored = await stores.findSession(family.selector);

    expect(rotationRefusal(stored, presented, expected.now)).toBe(c.refusal);
    const outcome = await stores.rotateSession(family.selector, expected, next);
    if (c.refusal === undefined) {
      expect(outcome.outcome).toBe('rotated');
      if (outcome.outcome !== 'rotated') return;
      // The adapter writes what the domain says a rotation writes.
      expect(outcome.family.consumedHashes).toContain(hash);
      expect(outcome.family).toEqual(applyRotation(stored!, next, outcome.family.consumedHashes));
    } else {
      expect(outcome).toEqual({ outcome: 'conflict' });
      expect(await stores.findSession(family.selector)).toEqual(stored);
      expect(classifyFailedRotation(stored, presented, expected.now, GRACE).verdict).toBe(c.verdict);
    }
  });

  type RenewalCase = {
    name: string;
    family?: Partial<RefreshFamily>;
    before?: 'revoked' | 'renewed';
    presented?: 'refresh';
    change?: { tenant?: string; clientId?: string; now?: number };
    refusal: RenewalClause | undefined;
  };
  const renewalCases: RenewalCase[] = [
    { name: 'the current access token', refusal: undefined },
    { name: 'the previous access token', before: 'renewed', refusal: undefined },
    { name: 'the refresh token', presented: 'refresh', refusal: 'access' },
    { name: 'a customer session', family: { kind: 'customer' }, refusal: 'anonymous' },
    { name: 'another tenant', change: { tenant: 'globex' }, refusal: 'tenant' },
    { name: 'another client', change: { clientId: 'other' }, refusal: 'client' },
    { name: 'an expired refresh token', change: { now: NOW + 1000 }, refusal: 'refreshUnexpired' },
    { name: 'a revoked family', before: 'revoked', refusal: 'live' },
    { name: 'a session past its end', family: { endsAt: NOW + 50 }, change: { now: NOW + 50 }, refusal: 'beforeEnd' },
  ];

  it.each(renewalCases)('renewal rule: $name', async (c) => {
    const { family, access, refresh } = newFamily({ kind: 'anonymous', customer: undefined, ...c.family });
    await stores.createSession(family);
    if (c.before === 'revoked') expect(await stores.revokeSession(family.selector, NOW)).toBe(true);
    const base = { tenant: 'acme', clientId: 'web', now: NOW };
    if (c.before === 'renewed') {
      expect(
        await stores.renewAccess(
          family.selector,
          { ...base, presentedHash: access.hash },
          { hash: mintToken(family.selector).hash, expiresAt: NOW + 60 },
        ),
      ).toBeDefined();
    }
    const expected = { ...base, presentedHash: c.presented === 'refresh' ? refresh.hash : access.hash, ...c.change };
    const stored = await stores.findSession(family.selector);
    const next = { hash: mintToken(family.selector).hash, expiresAt: NOW + 70 };
    expect(
      renewalRefusal(stored, { hash: expected.presentedHash, tenant: expected.tenant, clientId: expected.clientId }, expected.now),
    ).toBe(c.refusal);
    const renewed = await stores.renewAccess(family.selector, expected, next);
    if (c.refusal === undefined) expect(renewed).toEqual(applyRenewal(stored!, next));
    else {
      expect(renewed).toBeUndefined();
      expect(await stores.findSession(family.selector)).toEqual(stored);
    }
  });

  it('switches the legal entity only to one the customer holds', async () => {
    const { family, refresh } = newFamily();
    await stores.createSession(family);
    const expected = { presentedHash: refresh.hash, tenant: 'acme', kind: 'customer' as const, now: NOW };
    expect(await stores.rotateSession(family.selector, expected, rotation(family.selector, refresh.hash, 0, 'LE-9'))).toEqual({
      outcome: 'conflict',
    });
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
    expect(
      await stores.renewAccess(family.selector, expected, { hash: mintToken(family.selector).hash, expiresAt: NOW + 60 }),
    ).toBeDefined();
    expect(await stores.renewAccess(family.selector, { ...expected, presentedHash: mintToken().hash }, first)).toBeUndefined();
    expect(await stores.renewAccess(family.selector, { ...expected, clientId: 'other' }, first)).toBeUndefined();
    const customer = newFamily();
    await stores.createSession(customer.family);
    expect(await stores.renewAccess(customer.family.selector, { ...expected, presentedHash: customer.access.hash }, first)).toBeUndefined();
  });

  it('keeps each access token’s scope through rotations: narrowed, then the grant’s whole scope again', async () => {
    const { family, refresh } = newFamily(GRANT);
    await stores.createSession(family);
    expect(await stores.findSession(family.selector)).toEqual(family);
    const expected = { presentedHash: refresh.hash, tenant: 'acme', kind: 'grant' as const, clientId: 'web', now: NOW };
    const narrowed = rotation(family.selector, refresh.hash, 0, undefined, ['profile']);
    const first = await stores.rotateSession(family.selector, expected, narrowed);
    expect(first.outcome === 'rotated' && first.family.access).toEqual(narrowed.access);
    // Present the refresh token that rotation installed; this one asks for no scope.
    const installed = (await stores.findSession(family.selector))!.refresh.hash;
    const whole = rotation(family.selector, installed, 1);
    const second = await stores.rotateSession(family.selector, { ...expected, presentedHash: installed }, whole);
    expect(second.outcome).toBe('rotated');
    const stored = await stores.findSession(family.selector);
    expect(stored?.access).toEqual(whole.access);
    expect(stored?.access.scopes).toBeUndefined();
    // The token in flight keeps the narrower scope it was issued with.
    expect(stored?.previousAccess).toEqual(narrowed.access);
    expect(stored?.scopes).toEqual(['order.read', 'profile']);
  });

  it('revokes a grant family for its own client only, when asked to check the client (RFC 7009 section 2.1)', async () => {
    const { family, access } = newFamily(GRANT);
    await stores.createSession(family);
    expect(await stores.revokeSession(family.selector, NOW, { hash: access.hash, tenant: 'acme', clientId: 'other' })).toBe(false);
    expect((await stores.findSession(family.selector))?.revokedAt).toBeUndefined();
    expect(await stores.revokeSession(family.selector, NOW, { hash: access.hash, tenant: 'acme', clientId: 'web' })).toBe(true);
    expect((await stores.findSession(family.selector))?.revokedAt).toBe(NOW);
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

  it('loads a login’s session and customer together', async () => {
    const { family } = newFamily({ kind: 'anonymous', customer: undefined });
    await stores.createSession(family);
    const customer = {
      tenant: 'acme',
      email: 'b@example.com',
      passwordHash: 'h',
      customerNumber: 'C-2',
      legalEntities: ['LE-1'],
      initialPassword: true,
    };
    await stores.putCustomer(customer);
    expect(await stores.loadLogin(family.selector, 'acme', 'b@example.com')).toEqual({ session: family, customer });
    expect(await stores.loadLogin(newSelector(), 'acme', 'nobody@example.com')).toEqual({});
    await stores.deleteCustomer('acme', 'b@example.com');
    expect(await stores.getCustomer('acme', 'b@example.com')).toBeUndefined();
    expect(await stores.loadLogin(family.selector, 'acme', 'b@example.com')).toEqual({ session: family });
  });

  it('keeps a customer without a password hash, and a pending one, as written', async () => {
    const federated = {
      tenant: 'acme',
      email: `f-${newSelector()}@example.com`,
      customerNumber: 'F-1',
      legalEntities: [],
      initialPassword: false,
    };
    await stores.putCustomer(federated);
    expect(await stores.getCustomer('acme', federated.email)).toEqual(federated);
    const pending = { ...federated, email: `p-${newSelector()}@example.com`, passwordHash: 'h', pending: true };
    await stores.putCustomer(pending);
    expect(await stores.getCustomer('acme', pending.email)).toEqual(pending);
  });

  it('creates a customer only under a new email, and deletes one only while it is pending', async () => {
    const email = `n-${newSelector()}@example.com`;
    const customer = { tenant: 'acme', email, customerNumber: 'F-2', legalEntities: [], initialPassword: false };
    expect(await stores.createCustomer(customer)).toBe(true);
    expect(await stores.createCustomer({ ...customer, customerNumber: 'F-3' })).toBe(false);
    expect((await stores.getCustomer('acme', email))?.customerNumber).toBe('F-2');
    expect(await stores.createCustomer({ ...customer, tenant: 'globex' })).toBe(true);
    // Not pending: kept.
    expect(await stores.deletePendingCustomer('acme', email)).toBe(false);
    expect(await stores.getCustomer('acme', email)).toEqual(customer);
    await stores.putCustomer({ ...customer, passwordHash: 'attacker-hash', pending: true });
    expect(await stores.deletePendingCustomer('acme', email)).toBe(true);
    expect(await stores.getCustomer('acme', email)).toBeUndefined();
    expect(await stores.deletePendingCustomer('acme', email)).toBe(false);
    expect(await stores.getCustomer('globex', email)).toEqual({ ...customer, tenant: 'globex' });
  });

  it('links an identity once, replaces only the named stale link, and loads it with the session and the customer', async () => {
    const identity = { issuer: 'https://idp.example', subject: `sub-${newSelector()}` };
    const email = `l-${newSelector()}@example.com`;
    const link = { tenant: 'acme', identity, email, customerNumber: 'F-4' };
    const { family } = newFamily({ kind: 'anonymous', customer: undefined });
    await stores.createSession(family);
    expect(await stores.loadFederatedLogin(family.selector, 'acme', identity, email)).toEqual({ session: family });
    expect(await stores.linkIdentity(link)).toBe(true);
    expect(await stores.linkIdentity({ ...link, customerNumber: 'F-5' })).toBe(false);
    expect(await stores.linkIdentity({ ...link, customerNumber: 'F-5' }, 'F-other')).toBe(false);
    const customer = { tenant: 'acme', email, customerNumber: 'F-4', legalEntities: [], initialPassword: false };
    await stores.putCustomer(customer);
    expect(await stores.loadFederatedLogin(family.selector, 'acme', identity, email)).toEqual({ session: family, link, customer });
    expect(await stores.loadFederatedLogin(undefined, 'acme', identity, undefined)).toEqual({ link });
    // Another tenant, another issuer, another subject: not linked.
    expect(await stores.loadFederatedLogin(undefined, 'globex', identity, undefined)).toEqual({});
    expect(await stores.loadFederatedLogin(undefined, 'acme', { ...identity, issuer: 'https://other.example' }, undefined)).toEqual({});
    expect(await stores.loadFederatedLogin(undefined, 'acme', { ...identity, subject: `${identity.subject}x` }, undefined)).toEqual({});
    // The stale link (its customer re-created under another number) is replaced once.
    expect(await stores.linkIdentity({ ...link, customerNumber: 'F-6' }, 'F-4')).toBe(true);
    expect(await stores.linkIdentity({ ...link, customerNumber: 'F-7' }, 'F-4')).toBe(false);
    expect((await stores.loadFederatedLogin(undefined, 'acme', identity, undefined)).link?.customerNumber).toBe('F-6');
  });

  it('links one identity once of ten concurrent tries', async () => {
    const identity = { issuer: 'https://idp.example', subject: `race-${newSelector()}` };
    const tries = Array.from({ length: 10 }, (_, i) =>
      stores.linkIdentity({ tenant: 'acme', identity, email: `e${i}@example.com`, customerNumber: `F-${i}` }),
    );
    expect((await Promise.all(tries)).filter(Boolean)).toHaveLength(1);
  });

  it('reserves login attempts: numbered, refused at the limit or before a deadline, restarted after the window', async () => {
    const email = `r-${newSelector()}@example.com`;
    const reserve = (now: number) => stores.reserveLoginAttempt('acme', email, attemptLimits(now));
    expect(await reserve(NOW)).toEqual({ reserved: true, attempt: 1 });
    expect(await reserve(NOW)).toEqual({ reserved: true, attempt: 2 });
    expect(await reserve(NOW + 1)).toEqual({ reserved: true, attempt: 3 });
    await stores.slowLoginAttempts('acme', email, NOW + 3);
    await stores.slowLoginAttempts('acme', email, NOW + 2); // never earlier
    expect(await reserve(NOW + 2)).toEqual({ reserved: false, counter: { attempts: 3, windowEnd: NOW + 1 + 900, notBefore: NOW + 3 } });
    expect(await reserve(NOW + 3)).toEqual({ reserved: true, attempt: 4 });
    expect(await reserve(NOW + 4)).toEqual({ reserved: true, attempt: 5 });
    // Locked: refused attempts do not move the window.
    const locked = { reserved: false, counter: { attempts: 5, windowEnd: NOW + 4 + 900, notBefore: NOW + 3 } };
    expect(await reserve(NOW + 10)).toEqual(locked);
    expect(await reserve(NOW + 903)).toEqual(locked);
    // The window is over: one restart.
    expect(await reserve(NOW + 904)).toEqual({ reserved: true, attempt: 1 });
    expect(await reserve(NOW + 904)).toEqual({ reserved: true, attempt: 2 });
    await stores.clearLoginAttempts('acme', email);
    expect(await reserve(NOW + 905)).toEqual({ reserved: true, attempt: 1 });
    // A deadline on a cleared counter is not kept.
    await stores.clearLoginAttempts('acme', email);
    await stores.slowLoginAttempts('acme', email, NOW + 999);
    expect(await reserve(NOW + 906)).toEqual({ reserved: true, attempt: 1 });
    // Accounts are counted apart.
    expect(await stores.reserveLoginAttempt('acme', `other-${email}`, attemptLimits(NOW + 906))).toEqual({ reserved: true, attempt: 1 });
  });

  it('reserves at most five of fifty concurrent attempts, each with its own number', async () => {
    for (const state of ['fresh', 'expired'] as const) {
      const email = `c-${newSelector()}@example.com`;
      if (state === 'expired') {
        for (let i = 0; i < 5; i++) await stores.reserveLoginAttempt('acme', email, attemptLimits(NOW - 2000));
      }
      const outcomes = await Promise.all(Array.from({ length: 50 }, () => stores.reserveLoginAttempt('acme', email, attemptLimits(NOW))));
      const numbers = outcomes.flatMap((o) => (o.reserved ? [o.attempt] : []));
      expect(numbers.sort(), state).toEqual([1, 2, 3, 4, 5]);
      for (const o of outcomes) if (!o.reserved) expect(o.counter, state).toEqual({ attempts: 5, windowEnd: NOW + 900 });
    }
  });

  it('keeps an index of a customer’s sessions, and replaces a customer family’s legal entities', async () => {
    const email = `i-${newSelector()}@example.com`;
    const a = newFamily();
    const b = newFamily();
    await stores.createSession(a.family);
    await stores.createSession(b.family);
    expect(await stores.listCustomerSessions('acme', email)).toEqual([]);
    await stores.indexCustomerSession({ tenant: 'acme', email, selector: a.family.selector, endsAt: NOW + 10 });
    await stores.indexCustomerSession({ tenant: 'acme', email, selector: b.family.selector, endsAt: NOW + 10 });
    expect(await stores.listCustomerSessions('acme', email)).toEqual([a.family.selector, b.family.selector].sort());
    expect(await stores.listCustomerSessions('globex', email)).toEqual([]);
    await stores.unindexCustomerSessions('acme', email, [a.family.selector]);
    expect(await stores.listCustomerSessions('acme', email)).toEqual([b.family.selector]);

    // A selection the new set still holds stays; one it no longer holds is dropped.
    const selected = await stores.rotateSession(
      a.family.selector,
      { presentedHash: a.refresh.hash, tenant: 'acme', kind: 'customer', now: NOW },
      rotation(a.family.selector, a.refresh.hash, 0, 'LE-1'),
    );
    expect(selected.outcome).toBe('rotated');
    expect(await stores.setSessionLegalEntities(a.family.selector, ['LE-1', 'LE-3'])).toBe(true);
    expect((await stores.findSession(a.family.selector))?.customer).toMatchObject({ legalEntityId: 'LE-1' });
    expect(await stores.setSessionLegalEntities(a.family.selector, ['LE-2', 'LE-3'])).toBe(true);
    const changed = (await stores.findSession(a.family.selector))?.customer;
    expect(changed?.legalEntities.sort()).toEqual(['LE-2', 'LE-3']);
    expect(changed?.legalEntityId).toBeUndefined();
    expect(await stores.setSessionLegalEntities(a.family.selector, [])).toBe(true);
    expect((await stores.findSession(a.family.selector))?.customer?.legalEntities).toEqual([]);
    const anonymous = newFamily({ kind: 'anonymous', customer: undefined });
    await stores.createSession(anonymous.family);
    expect(await stores.setSessionLegalEntities(anonymous.family.selector, ['LE-1'])).toBe(false);
    expect(await stores.setSessionLegalEntities(newSelector(), ['LE-1'])).toBe(false);
  });

  it('ends a session at its end: no rotation or renewal from that second, and a rotation never moves the end', async () => {
    const base = { tenant: 'acme', kind: 'customer' as const, clientId: 'web' };
    const { family, refresh } = newFamily({ endsAt: NOW + 50 });
    await stores.createSession(family);
    expect((await stores.findSession(family.selector))?.endsAt).toBe(NOW + 50);
    const refused = await stores.rotateSession(
      family.selector,
      { ...base, presentedHash: refresh.hash, now: NOW + 50 },
      rotation(family.selector, refresh.hash),
    );
    expect(refused).toEqual({ outcome: 'conflict' });
    const won = await stores.rotateSession(
      family.selector,
      { ...base, presentedHash: refresh.hash, now: NOW + 49 },
      { ...rotation(family.selector, refresh.hash), legacyEndsAt: NOW + 5000 },
    );
    expect(won.outcome === 'rotated' && won.family.endsAt).toBe(NOW + 50);

    const legacy = newFamily();
    await stores.createSession(legacy.family);
    const first = await stores.rotateSession(
      legacy.family.selector,
      { ...base, presentedHash: legacy.refresh.hash, now: NOW },
      { ...rotation(legacy.family.selector, legacy.refresh.hash), legacyEndsAt: NOW + 5000 },
    );
    expect(first.outcome === 'rotated' && first.family.endsAt).toBe(NOW + 5000);

    const anonymous = newFamily({ kind: 'anonymous', customer: undefined, endsAt: NOW + 50 });
    await stores.createSession(anonymous.family);
    const renew = (now: number) =>
      stores.renewAccess(
        anonymous.family.selector,
        { presentedHash: anonymous.access.hash, tenant: 'acme', clientId: 'web', now },
        { hash: mintToken(anonymous.family.selector).hash, expiresAt: now + 10 },
      );
    expect(await renew(NOW + 50)).toBeUndefined();
    expect(await renew(NOW + 49)).toBeDefined();
  });

  it('keeps the seed’s record of the customers it manages', async () => {
    await stores.putSeededCustomers('acme', ['a@example.com', 'b@example.com']);
    await stores.putSeededCustomers('globex', []);
    expect(await stores.listSeededCustomers()).toEqual({ acme: ['a@example.com', 'b@example.com'], globex: [] });
    await stores.deleteSeededCustomers('globex');
    expect(await stores.listSeededCustomers()).toEqual({ acme: ['a@example.com', 'b@example.com'] });
  });

  it('marks a storefront client of a tenant revoked, and keeps the mark through the next seed', async () => {
    const tenant = { tenant: 'initech', settings: resolveSettings(undefined), storefrontClients: ['web', '__proto__'] };
    expect(await stores.revokeStorefrontClientTokens('initech', 'web', NOW)).toBe(false);
    await stores.putTenant(tenant);
    expect(await stores.revokeStorefrontClientTokens('initech', 'web', NOW)).toBe(true);
    expect(await stores.revokeStorefrontClientTokens('initech', '__proto__', NOW + 1)).toBe(true);
    await stores.putTenant({ ...tenant, storefrontClients: ['web'] });
    const stored = await stores.getTenant('initech');
    expect(stored?.storefrontClients).toEqual(['web']);
    expect(Object.entries(stored?.storefrontTokensRevokedAt ?? {}).sort()).toEqual([
      ['__proto__', NOW + 1],
      ['web', NOW],
    ]);
    await stores.deleteTenant('initech');
  });

  it('keeps, lists and removes directory entries, and keeps published keys as written', async () => {
    const tenant = {
      tenant: 'acme',
      settings: {
        refreshGraceSeconds: 5,
        lifetimes: {
          anonymousAccess: 1,
          anonymousRefresh: 2,
          customerAccess: 3,
          customerRefresh: 4,
          serviceAccess: 5,
          grantAccess: 6,
          grantRefresh: 7,
          anonymousSessionMax: 8,
          customerSessionMax: 9,
        },
        secretRotationOverlapSeconds: 10,
      },
      storefrontClients: ['web'],
    };
    await stores.putTenant(tenant);
    // A tenant without identity providers reads as `{}` (issue 11).
    expect(await stores.getTenant('acme')).toEqual({ ...tenant, identityProviders: {} });
    const google = {
      name: 'google',
      issuer: 'https://accounts.example',
      clientId: 'broker',
      redirectUri: 'https://shop.example/cb',
      customerIdentifier: 'SUBJECT' as const,
      autoProvision: true,
      audience: 'https://api.example',
      validation: 'introspection' as const,
    };
    await stores.putTenant({ ...tenant, identityProviders: { google } });
    expect(await stores.getTenant('acme')).toEqual({ ...tenant, identityProviders: { google } });
    await stores.putTenant(tenant);
    expect((await stores.getTenant('acme'))?.identityProviders).toEqual({});
    // The signup mail settings (issue 12) are kept with the tenant, and go when a seed drops them.
    const mail = { from: 'no-reply@acme.example', optInLink: 'https://shop.example/confirm?token={token}' };
    await stores.putTenant({ ...tenant, mail });
    expect(await stores.getTenant('acme')).toEqual({ ...tenant, identityProviders: {}, mail });
    await stores.putTenant(tenant);
    expect(await stores.getTenant('acme')).toEqual({ ...tenant, identityProviders: {} });
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
    expect((await stores.listWarmupClients()).find((c) => c.clientId === 'r1')).toEqual({
      ...client,
      scopes: ['a', 'b'],
      tokensRevokedAt: NOW,
    });
    await stores.deleteServiceClient('r1');
    expect(await stores.getServiceClient('r1')).toBeUndefined();
  });

  it('keeps, lists and removes app clients apart from service clients, and keeps their revocation mark through the next seed’s put', async () => {
    const shop: AppClient = {
      clientId: 'a1',
      tenant: 'acme',
      type: 'public',
      redirectUris: ['com.acme.shop:/callback', 'http://127.0.0.1/callback'],
      scopes: ['customer.customer_read_own'],
      accessTokenFormat: 'opaque',
    };
    const partner: AppClient = {
      clientId: 'a2',
      tenant: 'acme',
      type: 'confidential',
      redirectUris: ['https://partner.example/cb'],
      scopes: [],
      accessTokenFormat: 'jwt',
      audience: 'https://api.acme.example',
    };
    expect(await stores.getAppClient('a1')).toBeUndefined();
    expect(await stores.revokeAppClientTokens('a1', NOW)).toBeUndefined();
    expect(await stores.getAppClient('a1')).toBeUndefined();
    await stores.putAppClient(shop);
    await stores.putAppClient(partner);
    expect(await stores.getAppClient('a1')).toEqual(shop);
    expect(await stores.getAppClient('a2')).toEqual(partner);
    expect((await stores.listAppClientIds()).sort()).toEqual(['a1', 'a2']);
    // One id space per kind in the store (the seed keeps ids unique across kinds).
    expect(await stores.getServiceClient('a1')).toBeUndefined();
    expect(await stores.listServiceClientIds()).not.toContain('a1');

    expect(await stores.revokeAppClientTokens('a1', NOW)).toEqual({ ...shop, tokensRevokedAt: NOW });
    const reseeded = { ...shop, redirectUris: ['http://[::1]/callback'], tokensRevokedAt: 1 };
    await stores.putAppClient(reseeded);
    expect(await stores.getAppClient('a1')).toEqual({ ...reseeded, tokensRevokedAt: NOW });
    expect(await stores.getAppClient('a2')).toEqual(partner);

    await stores.deleteAppClient('a1');
    expect(await stores.getAppClient('a1')).toBeUndefined();
    expect(await stores.listAppClientIds()).toEqual(['a2']);
    await stores.deleteAppClient('a2');
    expect(await stores.listAppClientIds()).toEqual([]);
  });
});
