import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoAuthorizations } from '../../functions/adapters/dynamodb/authorizations.js';
import { DynamoTable } from '../../functions/adapters/dynamodb/table.js';
import { MemoryStore } from '../../functions/adapters/memory-store.js';
import {
  CODE_SECONDS,
  classifyFailedRedemption,
  issueRefusal,
  PENDING_AUTHORIZATION_SECONDS,
  pkceChallenge,
  redemptionRefusal,
  type IssuedCode,
  type PendingAuthorization,
  type RedemptionClause,
} from '../../functions/domain/authorization.js';
import { hashToken, mintToken, newSelector } from '../../functions/domain/tokens.js';
import { startEmbeddedDynamoDb, type EmbeddedDynamoDb } from '../../functions/local/embedded-dynamodb.js';
import type { AuthorizationStore } from '../../functions/ports.js';

/**
 * The authorization record's contract (domain/authorization.ts), held against both stores: the
 * DynamoDB adapter on dynalite and the memory store. Each refused write must be refused for the
 * clause the domain's own check names on the record as stored, so the condition expressions and
 * the clause lists cannot drift apart.
 */

let dynamo: EmbeddedDynamoDb;
beforeAll(async () => {
  dynamo = await startEmbeddedDynamoDb(undefined);
});
afterAll(() => dynamo.close());

const NOW = 1_900_000_000;
const VERIFIER = 'v'.repeat(43);
const CSRF = 'csrf-token-of-the-browser';

function pending(overrides: Partial<PendingAuthorization> = {}) {
  const request = mintToken();
  const record: PendingAuthorization = {
    selector: request.selector,
    requestHash: request.hash,
    csrfHash: hashToken(CSRF),
    tenant: 'acme',
    clientId: 'shop-app',
    redirectUri: 'http://127.0.0.1:51234/callback',
    state: 'xyz',
    codeChallenge: pkceChallenge(VERIFIER),
    scopes: ['customer.customer_read_own'],
    createdAt: NOW,
    expiresAt: NOW + PENDING_AUTHORIZATION_SECONDS,
    ...overrides,
  };
  return { record, request };
}

function code(selector: string, issuedAt = NOW + 5) {
  const token = mintToken(selector);
  const issued: IssuedCode = {
    codeHash: token.hash,
    customer: { customerNumber: 'C-1', email: 'ann@example.com', legalEntities: ['LE-1'] },
    issuedAt,
    expiresAt: issuedAt + CODE_SECONDS,
  };
  return { token, issued };
}

const signIn = (requestHash: string, now = NOW + 5) => ({ requestHash, csrfHash: hashToken(CSRF), now });

describe.each([
  ['memory', () => new MemoryStore() as AuthorizationStore],
  ['dynamodb (dynalite)', () => new DynamoAuthorizations(new DynamoTable(dynamo.client, dynamo.tableName)) as AuthorizationStore],
])('%s authorization store', (_name, makeStore) => {
  let store: AuthorizationStore;
  beforeAll(() => {
    store = makeStore();
  });

  it('keeps a pending request as written, with and without state', async () => {
    const { record } = pending();
    await store.createAuthorization(record);
    expect(await store.findAuthorization(record.selector)).toEqual(record);
    const { state: _state, ...stateless } = pending().record;
    await store.createAuthorization(stateless);
    expect(await store.findAuthorization(stateless.selector)).toEqual(stateless);
    expect(await store.findAuthorization(newSelector())).toBeUndefined();
    await expect(store.createAuthorization(record)).rejects.toThrow();
  });

  it('issues a code only for the right request token and CSRF cookie, before the end, once', async () => {
    const { record, request } = pending();
    await store.createAuthorization(record);
    const { issued } = code(record.selector);
    const attempts = [
      { clause: 'request', presented: signIn(mintToken(record.selector).hash) },
      { clause: 'csrf', presented: { ...signIn(request.hash), csrfHash: hashToken('another browser') } },
      { clause: 'unexpired', presented: signIn(request.hash, record.expiresAt) },
    ] as const;
    for (const { clause, presented } of attempts) {
      expect(await store.issueCode(record.selector, presented, issued)).toBe(false);
      expect(issueRefusal(await store.findAuthorization(record.selector), presented, presented.now)).toBe(clause);
    }
    expect(await store.issueCode(newSelector(), signIn(request.hash), issued)).toBe(false);

    expect(await store.issueCode(record.selector, signIn(request.hash, record.expiresAt - 1), issued)).toBe(true);
    const stored = await store.findAuthorization(record.selector);
    expect(stored?.code).toEqual(issued);
    // The request signs in once: a second sign-in (a double submit, a replayed form) issues nothing.
    expect(await store.issueCode(record.selector, signIn(request.hash), code(record.selector).issued)).toBe(false);
    expect(issueRefusal(stored, signIn(request.hash), NOW + 5)).toBe('pending');
    expect((await store.findAuthorization(record.selector))?.code).toEqual(issued);
  });

  it('redeems a code once, and refuses each broken binding for the clause the domain names', async () => {
    const { record, request } = pending();
    await store.createAuthorization(record);
    const { token, issued } = code(record.selector);
    expect(await store.issueCode(record.selector, signIn(request.hash), issued)).toBe(true);

    const right = {
      codeHash: token.hash,
      clientId: record.clientId,
      redirectUri: record.redirectUri,
      codeChallenge: pkceChallenge(VERIFIER),
    };
    const wrong: [RedemptionClause, typeof right, number][] = [
      ['code', { ...right, codeHash: mintToken(record.selector).hash }, NOW + 10],
      ['unexpired', right, issued.expiresAt],
      ['client', { ...right, clientId: 'partner-portal' }, NOW + 10],
      ['redirectUri', { ...right, redirectUri: 'http://127.0.0.1:51235/callback' }, NOW + 10],
      ['verifier', { ...right, codeChallenge: pkceChallenge('w'.repeat(43)) }, NOW + 10],
    ];
    for (const [clause, presented, now] of wrong) {
      expect(await store.redeemCode(record.selector, { ...presented, now }, 'family-x')).toBe(false);
      expect(redemptionRefusal(await store.findAuthorization(record.selector), presented, now)).toBe(clause);
    }
    expect(await store.redeemCode(newSelector(), { ...right, now: NOW + 10 }, 'family-x')).toBe(false);

    const family = newSelector();
    expect(await store.redeemCode(record.selector, { ...right, now: NOW + 10 }, family)).toBe(true);
    const redeemed = await store.findAuthorization(record.selector);
    expect(redeemed?.redemption).toEqual({ redeemedAt: NOW + 10, familySelector: family });
    // A second redemption fails on `unredeemed`, and is classified as a replay of that family.
    expect(await store.redeemCode(record.selector, { ...right, now: NOW + 11 }, newSelector())).toBe(false);
    expect(redemptionRefusal(redeemed, right, NOW + 11)).toBe('unredeemed');
    expect(classifyFailedRedemption(redeemed, right)).toEqual({ verdict: 'replay', familySelector: family });
    // A guessed code under the same selector is merely invalid: it cannot revoke anyone's tokens.
    expect(classifyFailedRedemption(redeemed, { codeHash: mintToken(record.selector).hash })).toEqual({ verdict: 'invalid' });
  });

  it('refuses to redeem a request that never became a code', async () => {
    const { record, request } = pending();
    await store.createAuthorization(record);
    // The request token itself shares the selector; it is not a code.
    const presented = {
      codeHash: request.hash,
      clientId: record.clientId,
      redirectUri: record.redirectUri,
      codeChallenge: pkceChallenge(VERIFIER),
    };
    expect(await store.redeemCode(record.selector, { ...presented, now: NOW + 1 }, 'family-x')).toBe(false);
    expect(redemptionRefusal(await store.findAuthorization(record.selector), presented, NOW + 1)).toBe('code');
  });

  it('a revoked authorization neither becomes a code nor redeems one, and says so by the live clause', async () => {
    const pendingOne = pending();
    await store.createAuthorization(pendingOne.record);
    expect(await store.revokeAuthorization(pendingOne.record.selector, NOW + 2)).toBe(true);
    expect(await store.revokeAuthorization(pendingOne.record.selector, NOW + 3)).toBe(true);
    const revoked = await store.findAuthorization(pendingOne.record.selector);
    expect(revoked?.revokedAt).toBe(NOW + 2);
    expect(
      await store.issueCode(pendingOne.record.selector, signIn(pendingOne.request.hash), code(pendingOne.record.selector).issued),
    ).toBe(false);
    expect(issueRefusal(revoked, signIn(pendingOne.request.hash), NOW + 5)).toBe('live');

    const coded = pending();
    await store.createAuthorization(coded.record);
    const { token, issued } = code(coded.record.selector);
    expect(await store.issueCode(coded.record.selector, signIn(coded.request.hash), issued)).toBe(true);
    expect(await store.revokeAuthorization(coded.record.selector, NOW + 6)).toBe(true);
    const presented = {
      codeHash: token.hash,
      clientId: coded.record.clientId,
      redirectUri: coded.record.redirectUri,
      codeChallenge: pkceChallenge(VERIFIER),
    };
    expect(await store.redeemCode(coded.record.selector, { ...presented, now: NOW + 7 }, newSelector())).toBe(false);
    expect(redemptionRefusal(await store.findAuthorization(coded.record.selector), presented, NOW + 7)).toBe('live');
    expect(await store.revokeAuthorization(newSelector(), NOW)).toBe(false);
  });

  it('of 50 concurrent redemptions of one code, exactly one wins; of 20 concurrent sign-ins, exactly one issues', async () => {
    const { record, request } = pending();
    await store.createAuthorization(record);
    const signIns = await Promise.all(
      Array.from({ length: 20 }, () => store.issueCode(record.selector, signIn(request.hash), code(record.selector).issued)),
    );
    expect(signIns.filter(Boolean)).toHaveLength(1);

    const other = pending();
    await store.createAuthorization(other.record);
    const { token, issued } = code(other.record.selector);
    await store.issueCode(other.record.selector, signIn(other.request.hash), issued);
    const presented = {
      codeHash: token.hash,
      clientId: other.record.clientId,
      redirectUri: other.record.redirectUri,
      codeChallenge: pkceChallenge(VERIFIER),
      now: NOW + 10,
    };
    const families = Array.from({ length: 50 }, () => newSelector());
    const wins = await Promise.all(families.map((family) => store.redeemCode(other.record.selector, presented, family)));
    expect(wins.filter(Boolean)).toHaveLength(1);
    expect((await store.findAuthorization(other.record.selector))?.redemption?.familySelector).toBe(families[wins.indexOf(true)]);
  });
});
