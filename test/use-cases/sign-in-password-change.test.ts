import { beforeEach, describe, expect, it } from 'vitest';
import { pkceChallenge } from '../../functions/domain/authorization.js';
import { hashPassword } from '../../functions/domain/passwords.js';
import type { AppClient } from '../../functions/domain/tenant.js';
import { signIn, startAuthorization } from '../../functions/use-cases/authorize.js';
import { endCustomerSessions } from '../../functions/use-cases/customer-sessions.js';
import { redeemAuthorizationCode } from '../../functions/use-cases/grants.js';
import { TEST_SCRYPT } from '../support/local-broker.js';
import { CUSTOMER, ISSUER, memoryDeps, refused } from '../support/memory-deps.js';

/**
 * A sign-in on the broker's page racing a password change (contract section 2: the change ends
 * every session of the customer, and a code is a session about to start). The seed writes the
 * customer, then ends what the customer's session index names; the sign-in indexes its code,
 * then reads the customer again. Whichever way they interleave, no code of the old password
 * redeems after the change.
 */

const APP: AppClient = {
  clientId: 'mobile-app',
  tenant: 'acme',
  type: 'public',
  redirectUris: ['com.example.app:/callback'],
  scopes: ['profile'],
  accessTokenFormat: 'opaque',
};
const VERIFIER = 'v'.repeat(43);

let world: Awaited<ReturnType<typeof memoryDeps>>;
beforeEach(async () => {
  world = await memoryDeps();
  await world.store.putAppClient(APP);
});

/** What the seed does on a password change: the customer first, then the sessions it indexed. */
async function changePassword(): Promise<void> {
  const customer = (await world.store.getCustomer('acme', CUSTOMER.email))!;
  await world.store.putCustomer({ ...customer, passwordHash: await hashPassword('a-new-password', TEST_SCRYPT) });
  await endCustomerSessions(world.broker, 'acme', CUSTOMER.email, 'password_changed');
}

async function signInWithOldPassword() {
  const query = new Map([
    ['response_type', ['code']],
    ['client_id', [APP.clientId]],
    ['redirect_uri', [APP.redirectUris[0]!]],
    ['code_challenge', [pkceChallenge(VERIFIER)]],
    ['code_challenge_method', ['S256']],
  ]);
  const started = await startAuthorization(world.broker, query, ISSUER);
  if (started.kind !== 'sign-in') throw new Error(`the request was ${started.kind}`);
  return signIn(
    world.broker,
    { requestToken: started.requestToken, csrf: started.csrf, email: CUSTOMER.email, password: CUSTOMER.password },
    ISSUER,
  );
}

const redeem = (location: string) =>
  redeemAuthorizationCode(world.broker, APP, {
    code: new URL(location).searchParams.get('code')!,
    redirectUri: APP.redirectUris[0]!,
    codeVerifier: VERIFIER,
  });

describe('a sign-in racing a password change', () => {
  it('the change lands after the password was checked, before the code is indexed: the re-read refuses the sign-in', async () => {
    const index = world.store.indexCustomerSession.bind(world.store);
    world.store.indexCustomerSession = async (entry) => {
      await changePassword(); // the seed's index read finds nothing of this sign-in yet
      return index(entry);
    };
    const outcome = await signInWithOldPassword();
    expect(outcome).toMatchObject({ kind: 'retry', reason: 'credentials' });
    expect(world.logLines.some((line) => line.includes('credentials_changed_during_sign_in'))).toBe(true);
  });

  it('the change lands while the code is written, after its index entry: the code is revoked before it exists', async () => {
    const issueCode = world.store.issueCode.bind(world.store);
    world.store.issueCode = async (...args) => {
      await new Promise((resolve) => setImmediate(resolve)); // the index entry is written first
      await changePassword();
      return issueCode(...args);
    };
    expect(await signInWithOldPassword()).toMatchObject({ kind: 'restart', reason: 'live' });
  });

  it('the change lands after the code was indexed: the code is revoked with the sessions and does not redeem', async () => {
    const outcome = await signInWithOldPassword();
    expect(outcome.kind).toBe('redirect');
    await changePassword();
    expect(await refused(redeem((outcome as { location: string }).location))).toBe(true);
  });

  it('without a change, the code redeems', async () => {
    const outcome = await signInWithOldPassword();
    expect(outcome.kind).toBe('redirect');
    expect((await redeem((outcome as { location: string }).location)).accessToken).toBeTruthy();
  });
});
