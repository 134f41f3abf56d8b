import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pkceChallenge } from '../../functions/domain/authorization.js';
import { parseSeed } from '../../functions/seed/schema.js';
import { APP_CLIENTS, codeThroughSignIn, grantSeed } from '../support/authorization.js';
import { postForm, startTestBroker, type TestBroker } from '../support/local-broker.js';

/**
 * Contract section 2: a customer's password change ends all of that customer's sessions at once.
 * A code signed in with the old password and not yet redeemed is a session about to start: the
 * change ends it too, so its redemption fails instead of starting a session the change was meant
 * to end (found while building the sign-in page and the code grant).
 */

const VERIFIER = 'k'.repeat(43);
const { mobile } = APP_CLIENTS;
let broker: TestBroker;

beforeAll(async () => {
  broker = await startTestBroker(grantSeed());
});
afterAll(() => broker.stop());

const withPassword = (seed: ReturnType<typeof grantSeed>, password: string) => {
  const acme = seed.tenants.acme;
  return { tenants: { ...seed.tenants, acme: { ...acme, customers: acme.customers.map((c) => ({ ...c, password })) } } };
};

async function code(password = 'correct-horse'): Promise<string> {
  const callback = await codeThroughSignIn(
    broker,
    { client: mobile, redirectUri: 'http://127.0.0.1:40000/callback', codeChallenge: pkceChallenge(VERIFIER) },
    { email: 'ann@example.com', password },
  );
  return callback.searchParams.get('code')!;
}

const redeem = (value: string) =>
  postForm(`${broker.url}/oauth/token`, {
    grant_type: 'authorization_code',
    client_id: mobile.clientId,
    code: value,
    redirect_uri: 'http://127.0.0.1:40000/callback',
    code_verifier: VERIFIER,
  });

describe('a password change and a code not yet redeemed', () => {
  it('the code signed in with the old password no longer redeems; one signed in after the change does', async () => {
    const before = await code();
    await broker.reseed(parseSeed(JSON.stringify(withPassword(grantSeed(), 'battery-staple'))));

    const refused = await redeem(before);
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ error: 'invalid_grant' });

    const after = await code('battery-staple');
    expect((await redeem(after)).status).toBe(200);
  });

  it('ending the customer’s sessions by the incident command ends an outstanding code too', async () => {
    const outstanding = await code('battery-staple');
    const { endCustomerSessions } = await import('../../functions/use-cases/customer-sessions.js');
    await endCustomerSessions(broker.deps as never, 'acme', 'ann@example.com');
    expect((await redeem(outstanding)).status).toBe(400);
  });
});
