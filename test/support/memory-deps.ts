import { MemoryStore } from '../../functions/adapters/memory-store.js';
import { BrokerError } from '../../functions/domain/errors.js';
import { memoisedUnseal } from '../../functions/adapters/memoised-unseal.js';
import { hashPassword } from '../../functions/domain/passwords.js';
import { unseal } from '../../functions/domain/seal.js';
import { newSigningKey } from '../../functions/domain/signing-keys.js';
import { resolveSettings, type ServiceClient } from '../../functions/domain/tenant.js';
import { DEFAULTS } from '../../functions/config.js';
import { jsonLogger } from '../../functions/log.js';
import type { OutgoingMail } from '../../functions/domain/mail.js';
import type { Deps } from '../../functions/use-cases/deps.js';
import { storesOf } from '../../functions/wiring.js';
import { TEST_SCRYPT, TestClock } from './local-broker.js';

export const ISSUER = 'https://broker.example';
export const CUSTOMER = { email: 'ann@example.com', password: 'correct-horse', customerNumber: 'C-1001', legalEntities: ['LE-1', 'LE-2'] };
export const OTHER_CUSTOMER = { email: 'bob@example.com', password: 'battery-staple', customerNumber: 'C-1002', legalEntities: ['LE-1'] };

/**
 * The use cases wired on the memory store with a test clock: no HTTP, no dynalite, no scrypt
 * worth the name. The same tenants and clients as test/support/seed.ts, written straight to the
 * store (client secrets are the HTTP layer's concern and are not checked here).
 */
export async function memoryDeps() {
  const store = new MemoryStore();
  const clock = new TestClock();
  const logLines: string[] = [];
  const log = jsonLogger((line) => logLines.push(line));
  const cacheKey = Buffer.from('c'.repeat(64));
  const { privateKey } = await newSigningKey(clock.now);

  await store.putTenant({
    tenant: 'acme',
    settings: resolveSettings({ lifetimes: { serviceAccess: 1000 } }),
    storefrontClients: ['storefront-web'],
  });
  await store.putTenant({ tenant: 'globex', settings: resolveSettings(undefined), storefrontClients: ['globex-web'] });
  const clients: Record<'orders' | 'reports' | 'admin' | 'globex', ServiceClient> = {
    orders: {
      clientId: 'orders-svc',
      tenant: 'acme',
      scopes: ['order.order_read', 'order.order_manage'],
      warmup: true,
      profile: 'emporix',
    },
    reports: { clientId: 'reports-svc', tenant: 'acme', scopes: ['order.order_read'], warmup: false, profile: 'oauth2' },
    admin: { clientId: 'admin-svc', tenant: 'acme', scopes: ['broker.token_revoke'], warmup: false, profile: 'oauth2' },
    globex: { clientId: 'globex-svc', tenant: 'globex', scopes: ['order.order_read'], warmup: false, profile: 'oauth2' },
  };
  for (const client of Object.values(clients)) await store.putServiceClient(client);
  for (const customer of [CUSTOMER, OTHER_CUSTOMER]) {
    await store.putCustomer({
      tenant: 'acme',
      email: customer.email,
      passwordHash: await hashPassword(customer.password, TEST_SCRYPT),
      customerNumber: customer.customerNumber,
      legalEntities: customer.legalEntities,
      initialPassword: false,
    });
  }

  const mails: OutgoingMail[] = [];
  // The stores as the wiring builds them over a memory store; uncached, and with key material
  // that needs no secrets file, so a test sees every write at once.
  const deps: Deps = {
    ...storesOf({ memory: store }),
    liveKeys: async () => [],
    secrets: { verify: async () => true, preload: async () => {} },
    keys: { cacheKey: async () => cacheKey },
    signingKeys: { current: async () => privateKey },
    // No provider in these tests; federated-login tests put their own fake here.
    identityProviders: {
      exchangeCode: async () => {
        throw new Error('no identity provider in memoryDeps');
      },
      verifyAccessToken: async () => {
        throw new Error('no identity provider in memoryDeps');
      },
    },
    // Records what was sent; a test that needs a failing mailer puts its own here.
    mailer: {
      send: async (mail) => {
        mails.push(mail);
        return { messageId: `${mails.length}@memory-deps` };
      },
    },
    issuer: ISSUER,
    unseal: memoisedUnseal(unseal),
    passwordHashing: TEST_SCRYPT,
    clock: clock.read,
    log,
    serviceTokenReuseShare: DEFAULTS.serviceTokenReuseShare,
  };
  // One Deps; the two names the tests read it by (the oauth and storefront use cases).
  const broker = deps;
  const storefront = deps;
  return { store, clock, logLines, broker, storefront, clients, mails };
}

/** A refused call: every use case refuses by throwing a domain error (issue 9 item 3). */
export async function refused(call: Promise<unknown>): Promise<boolean> {
  try {
    await call;
    return false;
  } catch (error) {
    // A refusal is a domain error; anything else (a crash) must fail the test, not pass it.
    if (error instanceof BrokerError) return true;
    throw error;
  }
}
