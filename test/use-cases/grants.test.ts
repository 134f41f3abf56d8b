import { beforeEach, describe, expect, it } from 'vitest';
import { CODE_SECONDS, PENDING_AUTHORIZATION_SECONDS, pkceChallenge } from '../../functions/domain/authorization.js';
import { InvalidGrant, InvalidScope } from '../../functions/domain/errors.js';
import type { AppClient } from '../../functions/domain/tenant.js';
import { hashToken, mintToken } from '../../functions/domain/tokens.js';
import { endCustomerSessions } from '../../functions/use-cases/customer-sessions.js';
import { redeemAuthorizationCode, refreshGrant } from '../../functions/use-cases/grants.js';
import { introspect } from '../../functions/use-cases/introspection.js';
import { revokeOwnGrant } from '../../functions/use-cases/revocation.js';
import { CUSTOMER, memoryDeps } from '../support/memory-deps.js';

/** The authorization_code and refresh_token grants on the memory store (contract sections 5 and 6); no HTTP. */

const APP: AppClient = {
  clientId: 'mobile-app',
  tenant: 'acme',
  type: 'public',
  redirectUris: ['com.example.app:/callback'],
  scopes: ['order.read', 'profile'],
  accessTokenFormat: 'opaque',
};
const OTHER: AppClient = { ...APP, clientId: 'other-app' };
const VERIFIER = 'v'.repeat(43);
const REDIRECT = APP.redirectUris[0]!;

describe('grants (use cases, memory store)', () => {
  let world: Awaited<ReturnType<typeof memoryDeps>>;
  beforeEach(async () => {
    world = await memoryDeps();
    for (const client of [APP, OTHER]) await world.store.putAppClient(client);
  });

  /** A code as the sign-in page would issue it, for CUSTOMER. */
  async function code(scopes = APP.scopes): Promise<string> {
    const { broker, clock } = world;
    const request = mintToken();
    const csrfHash = hashToken('csrf');
    await broker.authorizations.createAuthorization({
      selector: request.selector,
      requestHash: request.hash,
      csrfHash,
      tenant: 'acme',
      clientId: APP.clientId,
      redirectUri: REDIRECT,
      codeChallenge: pkceChallenge(VERIFIER),
      scopes,
      createdAt: clock.now,
      expiresAt: clock.now + PENDING_AUTHORIZATION_SECONDS,
    });
    const minted = mintToken(request.selector);
    const customer = { customerNumber: CUSTOMER.customerNumber, email: CUSTOMER.email, legalEntities: CUSTOMER.legalEntities };
    const issued = { codeHash: minted.hash, customer, issuedAt: clock.now, expiresAt: clock.now + CODE_SECONDS };
    expect(await broker.authorizations.issueCode(request.selector, { requestHash: request.hash, csrfHash, now: clock.now }, issued)).toBe(
      true,
    );
    return minted.token;
  }

  const redeem = (value: string, client = APP) =>
    redeemAuthorizationCode(world.broker, client, { code: value, redirectUri: REDIRECT, codeVerifier: VERIFIER });

  it('redeems a code once; a replay is invalid_grant and ends the first redemption’s family', async () => {
    const { broker, clients } = world;
    const value = await code();
    const tokens = await redeem(value);
    expect(tokens).toMatchObject({ accessExpiresIn: 300, refreshExpiresIn: 2592000, scope: 'order.read profile tenant=acme' });
    expect(await introspect(broker, clients.reports, tokens.accessToken)).toMatchObject({ active: true, client_id: 'mobile-app' });
    await expect(redeem(value)).rejects.toBeInstanceOf(InvalidGrant);
    expect(await introspect(broker, clients.reports, tokens.accessToken)).toEqual({ active: false });
    await expect(refreshGrant(broker, APP, { refreshToken: tokens.refreshToken, scope: undefined })).rejects.toBeInstanceOf(InvalidGrant);
  });

  it('of 50 concurrent redemptions exactly one wins, and the others revoke what it got', async () => {
    const { broker, clients } = world;
    const value = await code();
    const results = await Promise.allSettled(Array.from({ length: 50 }, () => redeem(value)));
    const won = results.filter((r) => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(InvalidGrant);
    const winner = (won[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof redeem>>>).value;
    expect(await introspect(broker, clients.reports, winner.accessToken)).toEqual({ active: false });
  });

  it('refreshes bound to the client; a narrower scope is kept on the token, a wider one is InvalidScope', async () => {
    const { broker, clients } = world;
    const tokens = await redeem(await code(['profile']));
    await expect(refreshGrant(broker, OTHER, { refreshToken: tokens.refreshToken, scope: undefined })).rejects.toBeInstanceOf(InvalidGrant);
    await expect(refreshGrant(broker, APP, { refreshToken: tokens.refreshToken, scope: 'order.read' })).rejects.toBeInstanceOf(
      InvalidScope,
    );
    const next = await refreshGrant(broker, APP, { refreshToken: tokens.refreshToken, scope: 'profile' });
    expect(next.scope).toBe('profile tenant=acme');
    expect(await introspect(broker, clients.reports, next.accessToken)).toMatchObject({ active: true, scope: 'profile tenant=acme' });
  });

  it('a password change ends the grant (its family is in the customer’s session index)', async () => {
    const { broker, clients } = world;
    const tokens = await redeem(await code());
    expect(await endCustomerSessions(broker, 'acme', CUSTOMER.email, 'password_changed')).toBe(1);
    expect(await introspect(broker, clients.reports, tokens.accessToken)).toEqual({ active: false });
  });

  it('an app client revokes its own grant, not another client’s', async () => {
    const { broker, clients } = world;
    const tokens = await redeem(await code());
    await revokeOwnGrant(broker, OTHER, tokens.accessToken);
    expect((await introspect(broker, clients.reports, tokens.accessToken)).active).toBe(true);
    await revokeOwnGrant(broker, APP, tokens.accessToken);
    expect(await introspect(broker, clients.reports, tokens.accessToken)).toEqual({ active: false });
  });
});
