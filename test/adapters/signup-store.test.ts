import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbSignups } from '../../functions/adapters/dynamodb/signups.js';
import { DynamoDbSessions } from '../../functions/adapters/dynamodb/stores.js';
import { MemoryStore } from '../../functions/adapters/memory-store.js';
import { mintToken, newSelector } from '../../functions/domain/tokens.js';
import { startEmbeddedDynamoDb, type EmbeddedDynamoDb } from '../../functions/local/embedded-dynamodb.js';
import type { CustomerStore, PendingSignup, SignupStore } from '../../functions/ports.js';

/** The signup store's contract (contract section 11), on dynalite and in memory alike. */

let dynamo: EmbeddedDynamoDb;
beforeAll(async () => {
  dynamo = await startEmbeddedDynamoDb(undefined);
});
afterAll(() => dynamo.close());

type Stores = { signups: SignupStore; customers: CustomerStore };

const NOW = 1_900_000_000;
const DAY = 86_400;

function pending(overrides: Partial<PendingSignup> = {}): { signup: PendingSignup; token: string } {
  const link = mintToken();
  return {
    token: link.token,
    signup: {
      tenant: 'acme',
      email: `s-${newSelector()}@example.com`,
      customerNumber: `S-${newSelector()}`,
      passwordHash: 'scrypt$hash',
      details: JSON.stringify({ customerDetails: { company: 'ACME' } }),
      optIn: { selector: link.selector, hash: link.hash, expiresAt: NOW + DAY },
      expiresAt: NOW + 7 * DAY,
      ...overrides,
    },
  };
}

describe.each([
  [
    'memory',
    (): Stores => {
      const store = new MemoryStore();
      return { signups: store, customers: store };
    },
  ],
  [
    'dynamodb (dynalite)',
    (): Stores => ({
      signups: new DynamoDbSignups(dynamo.client, dynamo.tableName),
      customers: new DynamoDbSessions(dynamo.client, dynamo.tableName),
    }),
  ],
])('%s signup store', (_name, make) => {
  let stores: Stores;
  beforeAll(() => {
    stores = make();
  });

  it('creates a pending customer under a new email only, with its link lookup', async () => {
    const { signup } = pending();
    expect(await stores.signups.createSignup(signup, NOW)).toBe(true);
    expect(await stores.signups.createSignup({ ...signup, customerNumber: 'other' }, NOW)).toBe(false);
    const customer = await stores.customers.getCustomer('acme', signup.email);
    expect(customer).toMatchObject({
      pending: true,
      customerNumber: signup.customerNumber,
      passwordHash: 'scrypt$hash',
      legalEntities: [],
    });
    expect(await stores.signups.findOptIn(signup.optIn.selector)).toEqual({ tenant: 'acme', email: signup.email, expiresAt: NOW + DAY });
    expect(await stores.signups.findOptIn(newSelector())).toBeUndefined();
    // A confirmed (or seeded) customer's email cannot be signed up.
    const seeded = {
      tenant: 'acme',
      email: `c-${newSelector()}@example.com`,
      customerNumber: 'C',
      legalEntities: [],
      initialPassword: false,
    };
    await stores.customers.putCustomer(seeded);
    expect(await stores.signups.createSignup({ ...signup, email: seeded.email }, NOW)).toBe(false);
  });

  it('lets a new signup take the email of an expired pending one, never of a live one', async () => {
    const { signup } = pending();
    expect(await stores.signups.createSignup(signup, NOW)).toBe(true);
    expect(await stores.signups.createSignup({ ...signup, customerNumber: 'late' }, NOW + 7 * DAY - 1)).toBe(false);
    expect(await stores.signups.createSignup({ ...signup, customerNumber: 'late' }, NOW + 7 * DAY)).toBe(true);
    expect((await stores.customers.getCustomer('acme', signup.email))?.customerNumber).toBe('late');
  });

  it('confirms once with the current hash, before the link and the signup expire', async () => {
    const { signup } = pending();
    await stores.signups.createSignup(signup, NOW);
    expect(await stores.signups.confirmSignup('acme', signup.email, mintToken().hash, NOW)).toBeUndefined();
    expect(await stores.signups.confirmSignup('acme', signup.email, signup.optIn.hash, NOW + DAY)).toBeUndefined();
    const confirmed = await stores.signups.confirmSignup('acme', signup.email, signup.optIn.hash, NOW + DAY - 1);
    expect(confirmed).toEqual({
      tenant: 'acme',
      email: signup.email,
      customerNumber: signup.customerNumber,
      passwordHash: 'scrypt$hash',
      legalEntities: [],
      initialPassword: false,
    });
    expect(await stores.signups.confirmSignup('acme', signup.email, signup.optIn.hash, NOW)).toBeUndefined();
    expect((await stores.customers.getCustomer('acme', signup.email))?.pending).toBeUndefined();
    // Confirmed: no longer replaceable, nor taken by another signup, even after 7 days.
    expect(await stores.signups.replaceOptIn('acme', signup.email, pending().signup.optIn, NOW)).toBe(false);
    expect(await stores.signups.createSignup({ ...signup, customerNumber: 'x' }, NOW + 30 * DAY)).toBe(false);
  });

  it('of 10 concurrent confirmations exactly one wins', async () => {
    const { signup } = pending();
    await stores.signups.createSignup(signup, NOW);
    const results = await Promise.all(
      Array.from({ length: 10 }, () => stores.signups.confirmSignup('acme', signup.email, signup.optIn.hash, NOW)),
    );
    expect(results.filter((result) => result !== undefined)).toHaveLength(1);
  });

  it('replaces the link of a live pending signup: the old hash no longer confirms', async () => {
    const { signup } = pending();
    await stores.signups.createSignup(signup, NOW);
    const next = pending().signup.optIn;
    expect(await stores.signups.replaceOptIn('acme', signup.email, next, NOW)).toBe(true);
    expect(await stores.signups.findOptIn(next.selector)).toMatchObject({ email: signup.email });
    expect(await stores.signups.confirmSignup('acme', signup.email, signup.optIn.hash, NOW)).toBeUndefined();
    expect(await stores.signups.replaceOptIn('acme', `none-${newSelector()}@example.com`, next, NOW)).toBe(false);
    expect(await stores.signups.replaceOptIn('acme', signup.email, next, NOW + 7 * DAY)).toBe(false);
    expect(await stores.signups.confirmSignup('acme', signup.email, next.hash, NOW)).toBeDefined();
  });

  it('opens the mail gate once a minute per address', async () => {
    const email = `g-${newSelector()}@example.com`;
    expect(await stores.signups.claimMailGate('acme', email, NOW, NOW + 60)).toBe(true);
    expect(await stores.signups.claimMailGate('acme', email, NOW + 59, NOW + 119)).toBe(false);
    expect(await stores.signups.claimMailGate('globex', email, NOW, NOW + 60)).toBe(true);
    expect(await stores.signups.claimMailGate('acme', email, NOW + 60, NOW + 120)).toBe(true);
    await stores.signups.releaseMailGate('acme', email);
    expect(await stores.signups.claimMailGate('acme', email, NOW + 61, NOW + 121)).toBe(true);
    const racers = await Promise.all(Array.from({ length: 5 }, () => stores.signups.claimMailGate('acme', email, NOW + 500, NOW + 560)));
    expect(racers.filter(Boolean)).toHaveLength(1);
  });

  it('counts requests per source and window up to the limit', async () => {
    const source = `198.51.100.${Math.floor(Math.random() * 250)}-${newSelector()}`;
    const limits = { windowSeconds: 600, limit: 3 };
    const start = Math.ceil(NOW / 600) * 600;
    const results = await Promise.all(Array.from({ length: 5 }, () => stores.signups.countSourceRequest(source, start, limits)));
    expect(results.filter(Boolean)).toHaveLength(3);
    expect(await stores.signups.countSourceRequest(`other-${source}`, start, limits)).toBe(true);
    expect(await stores.signups.countSourceRequest(source, start + 600, limits)).toBe(true);
  });
});
