import { decodeJwt } from 'jose';
import { beforeEach, describe, expect, it } from 'vitest';
import { customerLogin } from '../../functions/use-cases/customer-login.js';
import { anonymousLogin, authenticateSession, logout, refreshSession, renewAnonymousAccess } from '../../functions/use-cases/sessions.js';
import { attemptLimits } from '../../functions/domain/login-throttle.js';
import { CUSTOMER, ISSUER, memoryDeps, OTHER_CUSTOMER, refused } from '../support/memory-deps.js';

/** Contract sections 1, 2 and 6 on the memory store: the storefront use cases alone, no HTTP. */
let world: Awaited<ReturnType<typeof memoryDeps>>;
beforeEach(async () => {
  world = await memoryDeps();
});

const anonymous = () => anonymousLogin(world.storefront, { tenant: 'acme', clientId: 'storefront-web', context: { currency: 'EUR' } });
const refresh = (refreshToken: string, kind: 'anonymous' | 'customer' = 'anonymous', legalEntityId?: string) =>
  refreshSession(world.storefront, { tenant: 'acme', kind, refreshToken, ...(legalEntityId ? { legalEntityId } : {}) });
const login = async (password = CUSTOMER.password, email = CUSTOMER.email) => {
  const { pair } = await anonymous();
  return customerLogin(world.storefront, { tenant: 'acme', bearer: pair.accessToken, email, password, issuer: ISSUER });
};

describe('anonymous sessions (use cases, memory store)', () => {
  it('log in for a registered storefront client only', async () => {
    const { pair, sessionId } = await anonymous();
    expect(pair).toMatchObject({ accessExpiresIn: 3599, refreshExpiresIn: 86399 });
    const { family, expiresIn } = await authenticateSession(world.storefront, 'acme', pair.accessToken);
    expect(family).toMatchObject({ kind: 'anonymous', sessionId, clientId: 'storefront-web', context: { currency: 'EUR' } });
    expect(expiresIn).toBe(3599);
    expect(await refused(anonymousLogin(world.storefront, { tenant: 'acme', clientId: 'globex-web', context: {} }))).toBe(true);
    expect(await refused(authenticateSession(world.storefront, 'globex', pair.accessToken))).toBe(true);
  });

  it('refresh once: the successor works, a retry inside the grace window gets the same successor, after it the family ends', async () => {
    const { pair, sessionId } = await anonymous();
    world.clock.advance(60);
    const next = await refresh(pair.refreshToken);
    expect(next.sessionId).toBe(sessionId);
    expect(next.pair.refreshToken).not.toBe(pair.refreshToken);
    expect((await authenticateSession(world.storefront, 'acme', next.pair.accessToken)).family.sessionId).toBe(sessionId);

    world.clock.advance(5);
    const retry = await refresh(pair.refreshToken);
    // The same tokens, with the seconds they have left.
    expect(retry.pair).toEqual({ ...next.pair, accessExpiresIn: 3594, refreshExpiresIn: 86394 });

    world.clock.advance(10);
    expect(await refused(refresh(pair.refreshToken))).toBe(true);
    // Reuse after the window is theft: the whole family is revoked.
    expect(await refused(refresh(next.pair.refreshToken))).toBe(true);
    expect(await refused(authenticateSession(world.storefront, 'acme', next.pair.accessToken))).toBe(true);
  });

  it('access tokens expire; the deprecated renewal gives a new one and leaves the refresh token as it was', async () => {
    const { pair } = await anonymous();
    world.clock.advance(3599);
    expect(await refused(authenticateSession(world.storefront, 'acme', pair.accessToken))).toBe(true);
    const renewed = await renewAnonymousAccess(world.storefront, {
      tenant: 'acme',
      clientId: 'storefront-web',
      anonymousToken: pair.accessToken,
    });
    expect(renewed.expiresIn).toBe(3599);
    expect((await authenticateSession(world.storefront, 'acme', renewed.accessToken)).family.kind).toBe('anonymous');
    expect(await refused(refresh(pair.refreshToken))).toBe(false);
    expect(
      await refused(
        renewAnonymousAccess(world.storefront, { tenant: 'acme', clientId: 'globex-web', anonymousToken: renewed.accessToken }),
      ),
    ).toBe(true);
  });

  it('never outlive the session’s end, however often refreshed', async () => {
    let { pair } = await anonymous();
    for (let day = 1; day <= 7; day++) {
      world.clock.advance(86_000);
      const next = await refresh(pair.refreshToken);
      pair = next.pair;
    }
    // 7 × 86,000 s in, the 604,800 s session has 2,800 s left, and so has every token of it.
    expect(pair).toMatchObject({ accessExpiresIn: 2800, refreshExpiresIn: 2800 });
    world.clock.advance(2800);
    expect(await refused(refresh(pair.refreshToken))).toBe(true);
  });
});

describe('customer sessions (use cases, memory store)', () => {
  it('log in over the anonymous session, with a saas_token for the customer', async () => {
    const result = await login();
    expect(result).toMatchObject({ initialPassword: false, pair: { accessExpiresIn: 14399, refreshExpiresIn: 86399 } });
    expect(decodeJwt(result.saasToken)).toMatchObject({ iss: ISSUER });
    const { family, expiresIn } = await authenticateSession(world.storefront, 'acme', result.pair.accessToken);
    expect(family).toMatchObject({ kind: 'customer', sessionId: result.sessionId, context: { currency: 'EUR' } });
    expect(family.customer).toMatchObject({ customerNumber: 'C-1001', email: CUSTOMER.email });
    expect(expiresIn).toBe(14399);
  });

  it('refuse a wrong password and an unknown email alike, and a login without a live anonymous token', async () => {
    expect(await refused(login('wrong-password'))).toBe(true);
    expect(await refused(login(CUSTOMER.password, 'nobody@example.com'))).toBe(true);
    expect(
      await refused(
        customerLogin(world.storefront, {
          tenant: 'acme',
          bearer: undefined,
          email: CUSTOMER.email,
          password: CUSTOMER.password,
          issuer: ISSUER,
        }),
      ),
    ).toBe(true);
  });

  it('refresh, switching to an assigned legal entity only', async () => {
    const { pair } = await login();
    const next = await refresh(pair.refreshToken, 'customer', 'LE-2');
    expect(next.legalEntityId).toBe('LE-2');
    expect(await refused(refresh(next.pair.refreshToken, 'customer', 'LE-9'))).toBe(true);
    // A customer token does not refresh as an anonymous one.
    expect(await refused(refresh(next.pair.refreshToken, 'anonymous'))).toBe(true);
    expect(await refused(refresh(next.pair.refreshToken, 'customer'))).toBe(false);
  });

  it('log out: the access token no longer validates and its refresh token no longer refreshes', async () => {
    const { pair } = await login();
    expect(await refused(logout(world.storefront, 'globex', pair.accessToken))).toBe(true);
    expect(await refused(logout(world.storefront, 'acme', pair.accessToken))).toBe(false);
    expect(await refused(authenticateSession(world.storefront, 'acme', pair.accessToken))).toBe(true);
    expect(await refused(refresh(pair.refreshToken, 'customer'))).toBe(true);
    expect(await refused(logout(world.storefront, 'acme', 'not-a-token'))).toBe(true);
  });

  it('lock an account after repeated failures, and only that account', async () => {
    for (let i = 0; i < 10; i++) {
      if (await refused(login('wrong-password'))) continue;
      throw new Error('a wrong password logged in');
    }
    // Locked now: even the right password is refused until the window ends.
    expect(await refused(login())).toBe(true);
    expect(world.logLines.some((line) => line.includes('login_locked'))).toBe(true);
    // Per account: another customer of the tenant logs in, and the same email on another tenant
    // still gets an attempt.
    expect((await login(OTHER_CUSTOMER.password, OTHER_CUSTOMER.email)).pair.accessToken).toBeTruthy();
    expect((await world.store.reserveLoginAttempt('globex', CUSTOMER.email, attemptLimits(world.clock.now))).reserved).toBe(true);
    expect((await world.store.reserveLoginAttempt('acme', CUSTOMER.email, attemptLimits(world.clock.now))).reserved).toBe(false);
  });
});
