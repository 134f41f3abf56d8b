import { decodeJwt } from 'jose';
import { beforeEach, describe, expect, it } from 'vitest';
import { ExternalTokenRejected, InvalidRequest, InvalidToken, UnknownCustomer } from '../../functions/domain/errors.js';
import type { ExternalIdentity, IdentityProvider } from '../../functions/domain/federation.js';
import { resolveSettings } from '../../functions/domain/tenant.js';
import type { IdentityProviderClient } from '../../functions/ports.js';
import { customerLogin } from '../../functions/use-cases/customer-login.js';
import type { FederationDeps } from '../../functions/use-cases/deps.js';
import { exchangeAuthToken, socialLogin } from '../../functions/use-cases/federated-login.js';
import { anonymousLogin, authenticateSession, refreshSession } from '../../functions/use-cases/sessions.js';
import { CUSTOMER, ISSUER, memoryDeps } from '../support/memory-deps.js';

/**
 * The federated-login rules on the memory store, with a small fake of the provider port: which
 * customer a provider identity is (link, verified email, provisioning, pending discard), the
 * session carried over, the saas_token and the audit event. The real provider and HTTP:
 * test/integration/federated-login.test.ts.
 */

const ISSUER_A = 'https://idp-a.example';

function provider(overrides: Partial<IdentityProvider> = {}): IdentityProvider {
  return {
    name: 'default',
    issuer: ISSUER_A,
    clientId: 'shop',
    redirectUri: 'https://shop.example/cb',
    customerIdentifier: 'EMAIL',
    autoProvision: true,
    validation: 'jwks',
    ...overrides,
  };
}

/** The fake provider: a code or token names the identity the test put under it. */
class FakeProvider implements IdentityProviderClient {
  readonly identities = new Map<string, ExternalIdentity>();
  readonly calls: { code?: string; redirectUri?: string; token?: string; provider: string }[] = [];

  async exchangeCode(_tenant: string, p: IdentityProvider, request: { code: string; redirectUri: string }) {
    this.calls.push({ code: request.code, redirectUri: request.redirectUri, provider: p.name });
    const identity = this.identities.get(request.code);
    if (!identity) throw new ExternalTokenRejected('bad code');
    this.identities.delete(request.code);
    return { accessToken: `at-${request.code}`, idToken: `id-${request.code}`, identity };
  }

  async verifyAccessToken(_tenant: string, p: IdentityProvider, token: string) {
    this.calls.push({ token, provider: p.name });
    const identity = this.identities.get(token);
    if (!identity) throw new ExternalTokenRejected('bad token');
    return identity;
  }
}

let world: Awaited<ReturnType<typeof memoryDeps>>;
let idp: FakeProvider;
let deps: FederationDeps;

beforeEach(async () => {
  world = await memoryDeps();
  idp = new FakeProvider();
  deps = { ...world.storefront, identityProviders: idp };
  await world.store.putTenant({
    tenant: 'acme',
    settings: resolveSettings({ lifetimes: { serviceAccess: 1000 } }),
    storefrontClients: ['storefront-web'],
    identityProviders: {
      default: provider(),
      subject: provider({ name: 'subject', customerIdentifier: 'SUBJECT' }),
      closed: provider({ name: 'closed', autoProvision: false }),
    },
  });
});

const anonymous = () => anonymousLogin(world.storefront, { tenant: 'acme', clientId: 'storefront-web', context: { currency: 'EUR' } });

let codes = 0;
function codeFor(identity: Partial<ExternalIdentity>): string {
  const code = `code-${++codes}`;
  idp.identities.set(code, { issuer: ISSUER_A, subject: 'sub-1', emailVerified: true, ...identity } as ExternalIdentity);
  return code;
}

async function social(identity: Partial<ExternalIdentity>, config?: string) {
  const { pair, sessionId } = await anonymous();
  const result = await socialLogin(deps, { tenant: 'acme', bearer: pair.accessToken, code: codeFor(identity), config, issuer: ISSUER });
  return { ...result, anonymousSessionId: sessionId };
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a refusal');
}

const audits = () => world.logLines.map((line) => JSON.parse(line)).filter((line) => line.event === 'federated_login');

describe('federated login (use cases, memory store, a fake provider)', () => {
  it('provisions a customer for a new identity with a verified email, carries the session over, and finds the same customer again by the link', async () => {
    const first = await social({ subject: 'new-1', email: 'new@example.com' });
    expect(first.sessionId).toBe(first.anonymousSessionId);
    expect(first.socialAccessToken).toBe(`at-code-${codes}`);
    expect(first.customerNumber).toMatch(/^F-/);
    const customer = await world.store.getCustomer('acme', 'new@example.com');
    expect(customer).toEqual({
      tenant: 'acme',
      email: 'new@example.com',
      customerNumber: first.customerNumber,
      legalEntities: [],
      initialPassword: false,
    });
    expect(decodeJwt(first.saasToken)).toMatchObject({ sub: first.customerNumber, email: 'new@example.com', tenant: 'acme', iss: ISSUER });

    // The family is an ordinary customer family, indexed among the customer's sessions.
    const { family } = await authenticateSession(world.storefront, 'acme', first.pair.accessToken);
    expect(family).toMatchObject({ kind: 'customer', sessionId: first.anonymousSessionId, context: { currency: 'EUR' } });
    expect(await world.store.listCustomerSessions('acme', 'new@example.com')).toEqual([family.selector]);
    const refreshed = await refreshSession(world.storefront, { tenant: 'acme', kind: 'customer', refreshToken: first.pair.refreshToken });
    expect(refreshed.sessionId).toBe(first.anonymousSessionId);

    // Second login: the link finds the customer, even with another email at the provider now.
    const second = await social({ subject: 'new-1', email: 'renamed@example.com' });
    expect(second.customerNumber).toBe(first.customerNumber);
    expect(await world.store.getCustomer('acme', 'renamed@example.com')).toBeUndefined();
    expect(audits().map((a) => [a.matchedBy, a.customerNumber, a.provider, a.tenant])).toEqual([
      ['provisioned', first.customerNumber, 'default', 'acme'],
      ['linked', first.customerNumber, 'default', 'acme'],
    ]);
  });

  it('links an existing customer by a provider-verified email only; a federated login never knows the password', async () => {
    expect(await failure(social({ subject: 'ann-unverified', email: CUSTOMER.email, emailVerified: false }))).toBeInstanceOf(
      ExternalTokenRejected,
    );
    const linked = await social({ subject: 'ann-idp', email: ` ${CUSTOMER.email.toUpperCase()} ` });
    expect(linked.customerNumber).toBe(CUSTOMER.customerNumber);
    expect(audits().at(-1)).toMatchObject({ matchedBy: 'email' });
    // The password still works: the customer has both.
    const { pair } = await anonymous();
    const login = await customerLogin(world.storefront, {
      tenant: 'acme',
      bearer: pair.accessToken,
      email: CUSTOMER.email,
      password: CUSTOMER.password,
      issuer: ISSUER,
    });
    expect(login.sessionId).toBeDefined();
    // The unverified identity was not linked by its failed try.
    expect(await failure(social({ subject: 'ann-unverified', email: CUSTOMER.email, emailVerified: false }))).toBeInstanceOf(
      ExternalTokenRejected,
    );
  });

  it('answers a password login of a federated-only customer like a wrong password', async () => {
    await social({ subject: 'fed-only', email: 'fed@example.com' });
    const { pair } = await anonymous();
    const error = await failure(
      customerLogin(world.storefront, {
        tenant: 'acme',
        bearer: pair.accessToken,
        email: 'fed@example.com',
        password: 'anything-at-all',
        issuer: ISSUER,
      }),
    );
    expect((error as Error).constructor.name).toBe('InvalidCredentials');
  });

  it('discards a pending signup under the email, with its password, and never activates it', async () => {
    await world.store.putCustomer({
      tenant: 'acme',
      email: 'victim@example.com',
      passwordHash: 'attacker-hash',
      customerNumber: 'P-1',
      legalEntities: [],
      initialPassword: false,
      pending: true,
    });
    const result = await social({ subject: 'victim-idp', email: 'victim@example.com' });
    expect(result.customerNumber).not.toBe('P-1');
    const customer = await world.store.getCustomer('acme', 'victim@example.com');
    expect(customer?.pending).toBeUndefined();
    expect(customer?.passwordHash).toBeUndefined();
    expect(customer?.customerNumber).toBe(result.customerNumber);
    expect(audits().at(-1)).toMatchObject({ matchedBy: 'provisioned', pendingSignupDiscarded: true });
  });

  it('answers a password login of a pending signup like a wrong password, even with its right password', async () => {
    const { hashPassword } = await import('../../functions/domain/passwords.js');
    const { TEST_SCRYPT } = await import('../support/local-broker.js');
    await world.store.putCustomer({
      tenant: 'acme',
      email: 'pend@example.com',
      passwordHash: await hashPassword('right-password', TEST_SCRYPT),
      customerNumber: 'P-3',
      legalEntities: [],
      initialPassword: false,
      pending: true,
    });
    const { pair } = await anonymous();
    const error = await failure(
      customerLogin(world.storefront, {
        tenant: 'acme',
        bearer: pair.accessToken,
        email: 'pend@example.com',
        password: 'right-password',
        issuer: ISSUER,
      }),
    );
    expect((error as Error).constructor.name).toBe('InvalidCredentials');
  });

  it('keeps a pending signup when the provider did not verify the email, or provisioning is off', async () => {
    const pending = {
      tenant: 'acme',
      email: 'p@example.com',
      passwordHash: 'h',
      customerNumber: 'P-2',
      legalEntities: [],
      initialPassword: false,
      pending: true,
    };
    await world.store.putCustomer(pending);
    expect(await failure(social({ subject: 'p-idp', email: 'p@example.com', emailVerified: false }))).toBeInstanceOf(ExternalTokenRejected);
    expect(await failure(social({ subject: 'p-idp', email: 'p@example.com' }, 'closed'))).toBeInstanceOf(UnknownCustomer);
    expect(await world.store.getCustomer('acme', 'p@example.com')).toEqual(pending);
  });

  it('with provisioning off: 404 for an unknown identity, a verified email still links', async () => {
    expect(await failure(social({ subject: 'x', email: 'nobody@example.com' }, 'closed'))).toBeInstanceOf(UnknownCustomer);
    expect(await world.store.getCustomer('acme', 'nobody@example.com')).toBeUndefined();
    expect((await social({ subject: 'ann-closed', email: CUSTOMER.email }, 'closed')).customerNumber).toBe(CUSTOMER.customerNumber);
  });

  it('SUBJECT identification matches by the link only: a verified email of an existing customer neither links nor provisions', async () => {
    expect(await failure(social({ subject: 'ann-subject', email: CUSTOMER.email }, 'subject'))).toBeInstanceOf(ExternalTokenRejected);
    const created = await social({ subject: 'sub-new', email: 'subject@example.com' }, 'subject');
    expect((await social({ subject: 'sub-new', email: 'changed@example.com' }, 'subject')).customerNumber).toBe(created.customerNumber);
  });

  it('refuses to provision without an email', async () => {
    const { email: _none, ...noEmail } = { email: undefined };
    expect(await failure(social({ subject: 'no-mail', ...noEmail }))).toBeInstanceOf(ExternalTokenRejected);
    expect(await failure(social({ subject: 'bad-mail', email: 'not an email' }))).toBeInstanceOf(ExternalTokenRejected);
  });

  it('checks the config and the anonymous session before the provider is called', async () => {
    const { pair } = await anonymous();
    const code = codeFor({ subject: 's', email: 's@example.com' });
    const run = (bearer: string | undefined, config?: string) =>
      socialLogin(deps, { tenant: 'acme', bearer, code, config, issuer: ISSUER });
    expect(await failure(run(pair.accessToken, 'nope'))).toBeInstanceOf(InvalidRequest);
    // Not an own property: no prototype lookup.
    expect(await failure(run(pair.accessToken, 'constructor'))).toBeInstanceOf(InvalidRequest);
    expect(await failure(run(undefined))).toBeInstanceOf(InvalidToken);
    expect(await failure(run('x'.repeat(64)))).toBeInstanceOf(InvalidToken);
    // A customer token is no anonymous session.
    const customer = await social({ subject: 'c', email: 'c@example.com' });
    expect(await failure(run(customer.pair.accessToken))).toBeInstanceOf(InvalidToken);
    world.clock.advance(3600);
    expect(await failure(run(pair.accessToken))).toMatchObject({ expired: true });
    expect(idp.calls.filter((c) => c.code === code)).toEqual([]);
  });

  it('passes the configured redirect URI when the request names none, and the one it names otherwise', async () => {
    const { pair } = await anonymous();
    await socialLogin(deps, {
      tenant: 'acme',
      bearer: pair.accessToken,
      code: codeFor({ email: 'r@example.com', subject: 'r' }),
      config: undefined,
      issuer: ISSUER,
    });
    const { pair: second } = await anonymous();
    const code = codeFor({ email: 'r@example.com', subject: 'r' });
    await socialLogin(deps, {
      tenant: 'acme',
      bearer: second.accessToken,
      code,
      redirectUri: 'https://other.example/cb',
      config: undefined,
      issuer: ISSUER,
    });
    expect(idp.calls.map((c) => c.redirectUri)).toEqual(['https://shop.example/cb', 'https://other.example/cb']);
  });

  it('exchanges a provider access token for a customer session', async () => {
    const { pair, sessionId } = await anonymous();
    idp.identities.set('ext-token', { issuer: ISSUER_A, subject: 'ext', email: 'ext@example.com', emailVerified: true });
    const result = await exchangeAuthToken(deps, {
      tenant: 'acme',
      bearer: pair.accessToken,
      subjectAccessToken: 'ext-token',
      config: undefined,
      issuer: ISSUER,
    });
    expect(result.sessionId).toBe(sessionId);
    expect((await world.store.getCustomer('acme', 'ext@example.com'))?.customerNumber).toBe(result.customerNumber);
    const { pair: again } = await anonymous();
    expect(
      await failure(
        exchangeAuthToken(deps, {
          tenant: 'acme',
          bearer: again.accessToken,
          subjectAccessToken: 'forged',
          config: undefined,
          issuer: ISSUER,
        }),
      ),
    ).toBeInstanceOf(ExternalTokenRejected);
  });

  it('links one identity to one customer whatever the concurrency', async () => {
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => social({ subject: 'race', email: 'race@example.com' })));
    const numbers = new Set(results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.customerNumber] : [])));
    expect(numbers.size).toBe(1);
    expect(results.every((r) => r.status === 'fulfilled')).toBe(true);
  });

  it('ends the new family when the customer is removed while it logs in', async () => {
    await social({ subject: 'gone', email: 'gone@example.com' });
    const { pair } = await anonymous();
    const code = codeFor({ subject: 'gone', email: 'gone@example.com' });
    // The seed removes the customer between the match and the re-read.
    const original = world.store.indexCustomerSession.bind(world.store);
    world.store.indexCustomerSession = async (entry) => {
      await original(entry);
      await world.store.deleteCustomer('acme', 'gone@example.com');
    };
    expect(
      await failure(socialLogin(deps, { tenant: 'acme', bearer: pair.accessToken, code, config: undefined, issuer: ISSUER })),
    ).toBeInstanceOf(ExternalTokenRejected);
    const selectors = await world.store.listCustomerSessions('acme', 'gone@example.com');
    const families = await Promise.all(selectors.map((s) => world.store.findSession(s)));
    expect(families.filter((f) => f?.revokedAt === undefined)).toHaveLength(1);
  });

  it('logs no provider token', async () => {
    await social({ subject: 'log', email: 'log@example.com' });
    expect(world.logLines.join('\n')).not.toContain('at-code-');
    expect(world.logLines.join('\n')).not.toContain('id-code-');
  });
});
