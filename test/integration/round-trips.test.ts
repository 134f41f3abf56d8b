import type { InitializeMiddleware } from '@smithy/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postForm, basic, startTestBroker, type TestBroker } from '../support/local-broker.js';
import { TEST_SECRETS } from '../support/seed.js';
import { Storefront } from '../support/storefront.js';

/**
 * DynamoDB round trips per route, counted by an SDK middleware on the running broker's client.
 * Issue 3 sets the floor: anonymous login and every refresh one write each, validate and logout
 * one round trip, customer login at most three. A regression shows here as a changed count.
 */

let broker: TestBroker;
let storefront: Storefront;
let calls: string[] = [];

beforeAll(async () => {
  broker = await startTestBroker();
  storefront = new Storefront(broker.url);
  const count: InitializeMiddleware<any, any> = (next, context) => (args) => {
    calls.push((context.commandName as string).replace(/Command$/, ''));
    return next(args);
  };
  broker.dynamoClient.middlewareStack.add(count, { step: 'initialize', name: 'countRoundTrips' });
  // Warm the in-memory tenant, client and key caches, as a running function would be.
  await storefront.customer();
  for (const [id, secret] of [
    ['reports-svc', TEST_SECRETS.reports],
    ['orders-svc', TEST_SECRETS.orders],
  ] as const) {
    await postForm(`${broker.url}/oauth/token`, { grant_type: 'client_credentials' }, { authorization: basic(id, secret) });
  }
});

afterAll(() => broker.stop());

async function roundTrips(request: () => Promise<unknown>): Promise<string[]> {
  calls = [];
  await request();
  return [...calls].sort();
}

describe('DynamoDB round trips', () => {
  it('anonymous login: one write', async () => {
    expect(await roundTrips(() => storefront.anonymousLogin())).toEqual(['PutItem']);
  });

  it('anonymous and customer refresh: one conditional write each', async () => {
    const anonymous = (await storefront.anonymousLogin()).body;
    expect(await roundTrips(() => storefront.anonymousRefresh({ refresh_token: anonymous.refresh_token }))).toEqual(['UpdateItem']);
    const { login } = await storefront.customer();
    expect(await roundTrips(() => storefront.refresh(login.refresh_token))).toEqual(['UpdateItem']);
  });

  it('validate and logout: one round trip each', async () => {
    const { login } = await storefront.customer();
    expect(await roundTrips(() => storefront.validate(login.access_token))).toEqual(['GetItem']);
    expect(await roundTrips(() => storefront.logout(login.access_token))).toEqual(['UpdateItem']);
  });

  it('customer login: read ∥ reserve the attempt, then family ∥ index entry ∥ clear attempts, then the re-read', async () => {
    const anonymous = (await storefront.anonymousLogin()).body.access_token;
    const success = ['BatchGetItem', 'BatchGetItem', 'DeleteItem', 'PutItem', 'PutItem', 'UpdateItem'];
    expect(await roundTrips(() => storefront.login(anonymous, 'ann@example.com', 'correct-horse'))).toEqual(success);
    // A failure: the read and the reservation; from the third failure a slow-down write too.
    expect(await roundTrips(() => storefront.login(anonymous, 'ann@example.com', 'wrong-password'))).toEqual([
      'BatchGetItem',
      'UpdateItem',
    ]);
    // With a live counter the attempt is added by the same one write.
    expect(await roundTrips(() => storefront.login(anonymous, 'ann@example.com', 'correct-horse'))).toEqual(success);
  });

  it('service token: one read from the cache; a miss adds the record and the cache entry', async () => {
    const token = (scope: string) =>
      postForm(
        `${broker.url}/oauth/token`,
        { grant_type: 'client_credentials', scope },
        { authorization: basic('orders-svc', TEST_SECRETS.orders) },
      );
    expect(await roundTrips(() => token('order.order_manage'))).toEqual(['GetItem', 'PutItem', 'PutItem']);
    expect(await roundTrips(() => token('order.order_manage'))).toEqual(['GetItem']);
  });

  it('introspection: one read, whatever the kind of token', async () => {
    const { login } = await storefront.customer();
    const introspect = (token: string) =>
      postForm(`${broker.url}/oauth/introspect`, { token }, { authorization: basic('reports-svc', TEST_SECRETS.reports) });
    expect(await roundTrips(() => introspect(login.access_token))).toEqual(['GetItem']);
  });
});
