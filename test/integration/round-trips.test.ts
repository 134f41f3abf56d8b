import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { InitializeMiddleware } from '@smithy/types';
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_CLIENTS, codeThroughSignIn, grantSeed } from '../support/authorization.js';
import { startOidcProvider, type OidcProviderFixture } from '../support/oidc-provider.js';
import { postForm, basic, startTestBroker, TEST_SCRYPT, type TestBroker } from '../support/local-broker.js';
import { DEFAULTS } from '../../functions/config.js';
import { lambdaHttpHandler } from '../../functions/http/lambda-adapter.js';
import { localSecretsSources } from '../../functions/local/broker.js';
import { createHttpBridge } from '../../functions/local/http-bridge.js';
import { LocalSecretsFile } from '../../functions/local/secrets-file.js';
import { jsonLogger } from '../../functions/log.js';
import { oauthRoutes } from '../../functions/routes/oauth.js';
import { buildDeps } from '../../functions/wiring.js';
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
/** A real identity provider, for the federated routes' rows (contract section 10). */
let idp: OidcProviderFixture;
const AUDIENCE = 'https://api.acme.example';

beforeAll(async () => {
  idp = await startOidcProvider();
  const seed = grantSeed();
  Object.assign(seed.tenants.acme, {
    identityProviders: {
      default: idp.seedEntry({ audience: AUDIENCE }),
    },
  });
  broker = await startTestBroker(seed);
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
  await redeemCode();
});

/** A code for the public app client, redeemed: the answer of the authorization_code grant. */
async function redeemCode(app = APP_CLIENTS.mobile): Promise<Record<string, any>> {
  const verifier = oauth.generateRandomCodeVerifier();
  const redirectUri = app.redirectUris[0]!;
  const callback = await codeThroughSignIn(broker, {
    client: app,
    redirectUri,
    codeChallenge: await oauth.calculatePKCECodeChallenge(verifier),
  });
  const form = {
    grant_type: 'authorization_code',
    client_id: app.clientId,
    code: callback.searchParams.get('code')!,
    redirect_uri: redirectUri,
    code_verifier: verifier,
  };
  calls = [];
  const response = await postForm(`${broker.url}/oauth/token`, form);
  expect(response.status).toBe(200);
  return (await response.json()) as Record<string, any>;
}

afterAll(async () => {
  await broker.stop();
  await idp.stop();
});

/**
 * Another oauth function instance over the broker's table and secrets, with its own caches and
 * near cache, on the broker's DynamoDB client (so the counting middleware sees its calls).
 */
async function startOAuthInstance(): Promise<{ url: string; close(): Promise<void> }> {
  const log = jsonLogger(() => {});
  const deps = buildDeps(
    {
      table: { client: broker.dynamoClient, tableName: 'token-broker' },
      keys: localSecretsSources(new LocalSecretsFile(join(broker.dataDir, 'secrets.json'))),
    },
    {
      clock: broker.clock.read,
      log,
      serviceTokenReuseShare: DEFAULTS.serviceTokenReuseShare,
      nearCache: { staleSeconds: DEFAULTS.serviceTokenNearCacheSeconds, nowMs: () => broker.clock.now * 1000 },
      hold: DEFAULTS.localHold,
      passwordHashing: TEST_SCRYPT,
    },
    broker.issuer,
  );
  const server = createHttpBridge({ oauth: lambdaHttpHandler(oauthRoutes(deps), log) }, lambdaHttpHandler({}, log), log);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

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

  it('service token: none on a warm instance, one read when its near copy is stale; a miss adds the record and the cache entry', async () => {
    const token = (scope: string) =>
      postForm(
        `${broker.url}/oauth/token`,
        { grant_type: 'client_credentials', scope },
        { authorization: basic('orders-svc', TEST_SECRETS.orders) },
      );
    expect(await roundTrips(() => token('order.order_manage'))).toEqual(['GetItem', 'PutItem', 'PutItem']);
    // Issue 13: the instance that minted holds the token in memory, and serves it without a call.
    expect(await roundTrips(() => token('order.order_manage'))).toEqual([]);
    expect(await roundTrips(() => token('order.order_manage'))).toEqual([]);
    // Past the near cache's bound (5 s by default) the instance asks the table again, once, as a
    // cold instance would.
    broker.clock.advance(DEFAULTS.serviceTokenNearCacheSeconds);
    expect(await roundTrips(() => token('order.order_manage'))).toEqual(['GetItem']);
    expect(await roundTrips(() => token('order.order_manage'))).toEqual([]);
  });

  it('service token on a cold instance: one read of the shared cache item, then none', async () => {
    const token = (url: string, scope: string) =>
      postForm(
        `${url}/oauth/token`,
        { grant_type: 'client_credentials', scope },
        { authorization: basic('orders-svc', TEST_SECRETS.orders) },
      );
    // Cached on the first instance (a mint or a hit, whichever this test's order leaves).
    expect((await token(broker.url, 'order.order_manage')).status).toBe(200);
    // A second oauth instance on the same table, as a new Lambda instance: its directory and
    // secrets warmed by a request the scope check refuses before any cache is read.
    const cold = await startOAuthInstance();
    try {
      expect((await token(cold.url, 'not.granted')).status).toBe(400);
      expect(await roundTrips(() => token(cold.url, 'order.order_manage'))).toEqual(['GetItem']);
      expect(await roundTrips(() => token(cold.url, 'order.order_manage'))).toEqual([]);
    } finally {
      await cold.close();
    }
  });

  it('introspection: one read, whatever the kind of token', async () => {
    const { login } = await storefront.customer();
    const introspect = (token: string) =>
      postForm(`${broker.url}/oauth/introspect`, { token }, { authorization: basic('reports-svc', TEST_SECRETS.reports) });
    expect(await roundTrips(() => introspect(login.access_token))).toEqual(['GetItem']);
  });

  /**
   * The floor of a code's redemption is three steps: the record must be read first (it names the
   * customer and scopes the new family is started with, and a clear refusal ends there); the
   * family must exist before the record names it, so that a replay always finds it to revoke;
   * and the one conditional write that redeems the code. The family and its index entry go in
   * parallel (the index is what lets a password change end the grant).
   */
  it('authorization_code: read the record; family ∥ index entry; the conditional write', async () => {
    await redeemCode();
    expect([...calls].sort()).toEqual(['GetItem', 'PutItem', 'PutItem', 'UpdateItem']);
  });

  it('refresh_token grant: one conditional write', async () => {
    const tokens = await redeemCode();
    const refresh = () =>
      postForm(`${broker.url}/oauth/token`, {
        grant_type: 'refresh_token',
        client_id: APP_CLIENTS.mobile.clientId,
        refresh_token: tokens.refresh_token,
      });
    expect(await roundTrips(refresh)).toEqual(['UpdateItem']);
  });

  it('introspection of a grant’s access token: one read, as for any token', async () => {
    const tokens = await redeemCode();
    const introspect = () =>
      postForm(
        `${broker.url}/oauth/introspect`,
        { token: tokens.access_token },
        { authorization: basic('reports-svc', TEST_SECRETS.reports) },
      );
    expect(await roundTrips(introspect)).toEqual(['GetItem']);
  });

  it('refresh_token grant of a JWT client: the family read for the claims, then the one conditional write', async () => {
    const tokens = await redeemCode(APP_CLIENTS.jwt);
    const refresh = () =>
      postForm(`${broker.url}/oauth/token`, {
        grant_type: 'refresh_token',
        client_id: APP_CLIENTS.jwt.clientId,
        refresh_token: tokens.refresh_token,
      });
    expect(await roundTrips(refresh)).toEqual(['GetItem', 'UpdateItem']);
  });

  /**
   * A federated login (contract section 10). Its floor: the anonymous session is read before the
   * provider is called (so no request without a live session spends a code or makes the broker
   * call out); the identity, known only from the provider, names the link and the customer read
   * next in one batch; the family and its index entry are written together; an existing customer
   * is read once more (the race with a seed that changes or removes them, as in customer login).
   * A new customer costs its conditional create and its link instead of the re-read.
   */
  it('socialLogin: session; link ∥ customer; family ∥ index entry; the re-read (new customer: create, link, no re-read)', async () => {
    const login = async (subject: string) => {
      const code = await idp.getCode({ login: subject });
      const anonymous = (await storefront.anonymousLogin()).body.access_token;
      return () =>
        fetch(`${broker.url}/customer/acme/socialLogin?${new URLSearchParams({ code })}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${anonymous}` },
        }).then((response) => expect(response.status).toBe(200));
    };
    expect(await roundTrips(await login('cid'))).toEqual(['BatchGetItem', 'GetItem', 'PutItem', 'PutItem', 'PutItem', 'PutItem']);
    expect(await roundTrips(await login('cid'))).toEqual(['BatchGetItem', 'BatchGetItem', 'GetItem', 'PutItem', 'PutItem']);
  });

  it('exchangeauthtoken: the same steps as socialLogin', async () => {
    const exchange = async (subject: string) => {
      const now = Math.floor(Date.now() / 1000);
      const token = await idp.signAccessToken({
        iss: idp.issuer,
        sub: subject,
        aud: AUDIENCE,
        email: `${subject}@example.com`,
        email_verified: true,
        iat: now,
        exp: now + 300,
      });
      const anonymous = (await storefront.anonymousLogin()).body.access_token;
      return () =>
        fetch(`${broker.url}/customer/acme/exchangeauthtoken?${new URLSearchParams({ subjectAccessToken: token })}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${anonymous}` },
        }).then((response) => expect(response.status).toBe(200));
    };
    expect(await roundTrips(await exchange('rt-user'))).toEqual(['BatchGetItem', 'GetItem', 'PutItem', 'PutItem', 'PutItem', 'PutItem']);
    expect(await roundTrips(await exchange('rt-user'))).toEqual(['BatchGetItem', 'BatchGetItem', 'GetItem', 'PutItem', 'PutItem']);
  });
});
