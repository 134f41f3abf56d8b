import { beforeEach, describe, expect, it } from 'vitest';
import { customerLogin } from '../../functions/use-cases/customer-login.js';
import { endCustomerSessions } from '../../functions/use-cases/customer-sessions.js';
import { anonymousLogin, authenticateSession } from '../../functions/use-cases/sessions.js';
import { CUSTOMER, ISSUER, memoryDeps, refused } from '../support/memory-deps.js';

/** Ending a customer's sessions, and a login that races a change to the customer (contract section 2). */
let world: Awaited<ReturnType<typeof memoryDeps>>;
beforeEach(async () => {
  world = await memoryDeps();
});

async function login() {
  const { pair } = await anonymousLogin(world.storefront, { tenant: 'acme', clientId: 'storefront-web', context: {} });
  return customerLogin(world.storefront, {
    tenant: 'acme',
    bearer: pair.accessToken,
    email: CUSTOMER.email,
    password: CUSTOMER.password,
    issuer: ISSUER,
  });
}

describe('ending every session of a customer', () => {
  it('ends every indexed family, and does not count an entry whose family is already gone', async () => {
    const first = await login();
    const second = await login();
    // An entry whose family no longer exists (DynamoDB's TTL swept it, or a login failed after indexing it).
    await world.store.indexCustomerSession({
      tenant: 'acme',
      email: CUSTOMER.email,
      selector: 'AAAAAAAAAAAAAAAAAAAAAA',
      endsAt: world.clock.now + 60,
    });
    expect(await endCustomerSessions(world.storefront, 'acme', CUSTOMER.email)).toBe(2);
    for (const { pair } of [first, second]) {
      expect(await refused(authenticateSession(world.storefront, 'acme', pair.accessToken))).toBe(true);
    }
    // The index was emptied: a second call finds nothing to end.
    expect(await endCustomerSessions(world.storefront, 'acme', CUSTOMER.email)).toBe(0);
  });
});

describe('a login while the customer is being changed', () => {
  it('takes the legal entities the customer holds once its session is written, not those it read first', async () => {
    const store = world.store;
    const loadLogin = store.loadLogin.bind(store);
    let reads = 0;
    // The seed removes LE-2 between the login's first read and its re-read after writing the session.
    store.loadLogin = async (selector, tenant, email) => {
      const context = await loadLogin(selector, tenant, email);
      if (++reads === 1 && context.customer) {
        await store.putCustomer({ ...context.customer, legalEntities: ['LE-1'] });
      }
      return context;
    };
    const { pair } = await login();
    const { family } = await authenticateSession(world.storefront, 'acme', pair.accessToken);
    expect(family.customer?.legalEntities).toEqual(['LE-1']);
  });
});
