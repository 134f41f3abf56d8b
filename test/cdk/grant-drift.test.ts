import { join } from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SendEmailCommand, SESv2Client } from '@aws-sdk/client-sesv2';
import { App, Stack, type CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import type { IConstruct } from 'constructs';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { pkceChallenge } from '../../functions/domain/authorization.js';
import { LocalSecretsFile } from '../../functions/local/secrets-file.js';
import type { BrokerFunctionName } from '../../lib/constructs/broker-functions.js';
import { TokenBrokerStack } from '../../lib/token-broker-stack.js';
import { parseEml } from '../support/eml.js';
import { httpEvent } from '../support/lambda-event.js';
import { startTestBroker, type TestBroker } from '../support/local-broker.js';
import { TEST_SECRETS } from '../support/seed.js';
import { APP_CLIENTS, APP_SECRETS, codeThroughSignIn, grantSeed } from '../support/authorization.js';
import { startOidcProvider, type OidcProviderFixture } from '../support/oidc-provider.js';

/**
 * Grant drift: every function's real Lambda entry, cold-started with the environment the
 * synthesized template gives it, is driven through its flows against dynalite; every DynamoDB and
 * Secrets Manager call it makes is recorded and checked against the IAM statements of that
 * function's role in the template. The checker evaluates the template (actions, resources,
 * `dynamodb:LeadingKeys` conditions), not the grant table in lib/, so a call the code starts
 * making and the policy does not allow fails here, whichever of the two changed.
 */

type Json = Record<string, any>;
type Handler = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;

/** One request a function makes, as IAM sees it. */
interface Call {
  /** The IAM action, e.g. `dynamodb:GetItem`. */
  action: string;
  /** The resource, as the template names it: `{ 'Fn::GetAtt': [table, 'Arn'] }` or `{ Ref: secret }`. */
  resource: unknown;
  /** `dynamodb:LeadingKeys`: every partition key the request names (none for a Scan). */
  leadingKeys?: string[];
  /** For the failure message. */
  describe: string;
}

const ISSUER = 'https://broker.example';
const CACHE_KEY = 'drift-test-cache-key-'.padEnd(64, 'x');

const sm = mockClient(SecretsManagerClient);
const savedEnv = { ...process.env };
let broker: TestBroker;
let idp: OidcProviderFixture;
let stack: TokenBrokerStack;
let resources: Record<string, Json>;
let tableName: string;
let endpoint: string;

/** Which function the calls being made belong to; undefined: not recorded (seeding, the local broker). */
let recording: BrokerFunctionName | undefined;
const recorded: Call[] = [];
const originalSend = DynamoDBClient.prototype.send;

beforeAll(async () => {
  // Bundling skipped: only the roles and environments are read.
  stack = new TokenBrokerStack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'GrantDrift');
  resources = Template.fromStack(stack).toJSON().Resources;

  // Local mode applies the test seed (tenants, clients, customers, the published signing key) to
  // dynalite; the Lambda entries then reach that dynalite through the SDK's endpoint variable.
  // A real identity provider for the federation function's flows (contract section 10).
  idp = await startOidcProvider();
  const seed = grantSeed();
  Object.assign(seed.tenants.acme, { identityProviders: { default: idp.seedEntry({ audience: 'https://api.acme.example' }) } });
  broker = await startTestBroker(seed);
  const [name, ...others] = (await broker.dynamoClient.send(new ListTablesCommand({}))).TableNames ?? [];
  expect(others).toEqual([]);
  tableName = name!;
  const { protocol, hostname, port } = await broker.dynamoClient.config.endpoint!();
  endpoint = `${protocol}//${hostname}:${port}`;

  const localBrokerClient = broker.dynamoClient;
  DynamoDBClient.prototype.send = function (this: DynamoDBClient, command: any, ...rest: any[]) {
    if (recording && this !== localBrokerClient) recorded.push(...dynamoCalls(command));
    return (originalSend as any).call(this, command, ...rest);
  } as typeof originalSend;

  // Secrets Manager exists only in AWS: answered by the mock, which records each call.
  const signingKeys = await new LocalSecretsFile(join(broker.dataDir, 'secrets.json')).currentSigningKeys();
  const clientSecrets = {
    'orders-svc': TEST_SECRETS.orders,
    'reports-svc': TEST_SECRETS.reports,
    'globex-svc': TEST_SECRETS.globex,
    [APP_CLIENTS.partner.clientId]: APP_SECRETS.partner,
  };
  const answer = (value: unknown) => ({ SecretString: JSON.stringify(value) });
  const { clientSecrets: clientSecretsId, keys, signingKeys: signingKeysId, identityProviderSecrets } = stack.secrets;
  sm.on(GetSecretValueCommand, { SecretId: secretId(identityProviderSecrets) }).resolves(answer({ acme: { default: idp.clientSecret } }));
  sm.on(GetSecretValueCommand, { SecretId: secretId(clientSecretsId), VersionStage: 'AWSCURRENT' }).resolves(answer(clientSecrets));
  sm.on(GetSecretValueCommand, { SecretId: secretId(clientSecretsId), VersionStage: 'AWSPREVIOUS' }).resolves(answer({}));
  // Not the local broker's cache key: the token it cached at start cannot be opened, so the
  // first token request and the warm-up mint, and the cache-hit path is exercised after that.
  sm.on(GetSecretValueCommand, { SecretId: secretId(keys) }).resolves(answer({ cacheKey: CACHE_KEY }));
  sm.on(GetSecretValueCommand, { SecretId: secretId(signingKeysId) }).resolves(answer({ keys: signingKeys }));
});

afterAll(async () => {
  DynamoDBClient.prototype.send = originalSend;
  sm.restore();
  await broker?.stop();
  await idp?.stop();
});

afterEach(() => {
  process.env = { ...savedEnv };
  vi.resetModules();
});

describe('every call a function makes is allowed by its own role', () => {
  it('oauth: token (minted, then cached), failed authentication, introspect, revoke', async () => {
    const calls = await run('oauth', async (handler) => {
      const post = (path: string, body: Record<string, string>) =>
        handler(
          httpEvent('POST', path, {
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams(body).toString(),
          }),
        );
      const orders = { client_id: 'orders-svc', client_secret: TEST_SECRETS.orders };
      const tokenRequest = { grant_type: 'client_credentials', ...orders };

      const minted = await json(post('/oauth/token', tokenRequest), 200);
      const cached = await json(post('/oauth/token', tokenRequest), 200);
      expect(cached.access_token).toBe(minted.access_token);
      await json(post('/oauth/token', { ...tokenRequest, client_secret: 'wrong-secret' }), 401);

      expect(await json(post('/oauth/introspect', { ...orders, token: minted.access_token }), 200)).toMatchObject({ active: true });
      await json(post('/oauth/revoke', { ...orders, token: minted.access_token }), 200);
      expect(await json(post('/oauth/introspect', { ...orders, token: minted.access_token }), 200)).toMatchObject({ active: false });

      // A JWT access token (contract section 9): the oauth function reads the signing key.
      await useJwtAccessTokens('reports-svc');
      const reports = { client_id: 'reports-svc', client_secret: TEST_SECRETS.reports };
      const jwt = await json(post('/oauth/token', { grant_type: 'client_credentials', ...reports }), 200);
      expect(jwt.access_token.split('.')).toHaveLength(3);
      expect(await json(post('/oauth/introspect', { ...orders, token: jwt.access_token }), 200)).toMatchObject({ active: true });
    });
    expect(actionsOf(calls)).toEqual(expect.arrayContaining(['dynamodb:GetItem', 'dynamodb:PutItem', 'secretsmanager:GetSecretValue']));
  });

  it('oauth: a code redeemed (public and confidential client), refreshed, replayed, introspected, revoked by its client', async () => {
    const verifier = 'drift-test-code-verifier-'.padEnd(43, 'v');
    const challenge = pkceChallenge(verifier);
    const codes = await Promise.all(
      [APP_CLIENTS.mobile, APP_CLIENTS.mobile, APP_CLIENTS.partner].map(async (client) => {
        const redirectUri = client.redirectUris[0]!;
        const callback = await codeThroughSignIn(broker, { client, redirectUri, codeChallenge: challenge });
        return { client, redirectUri, code: callback.searchParams.get('code')! };
      }),
    );
    const calls = await run('oauth', async (handler) => {
      const post = (path: string, body: Record<string, string>) =>
        handler(
          httpEvent('POST', path, {
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams(body).toString(),
          }),
        );
      const redeem = ({ client, redirectUri, code }: (typeof codes)[number]) => {
        const secret: Record<string, string> = client.type === 'confidential' ? { client_secret: APP_SECRETS.partner } : {};
        const form = { grant_type: 'authorization_code', client_id: client.clientId, ...secret, code, redirect_uri: redirectUri };
        return post('/oauth/token', { ...form, code_verifier: verifier });
      };
      const [first, second, partner] = codes as [(typeof codes)[number], (typeof codes)[number], (typeof codes)[number]];
      const tokens = await json(redeem(first), 200);
      await json(redeem(first), 400); // a replay: revokes the first redemption's family
      const live = await json(redeem(second), 200);
      await json(redeem(partner), 200);
      const refreshed = await json(
        post('/oauth/token', { grant_type: 'refresh_token', client_id: 'mobile-app', refresh_token: live.refresh_token, scope: 'profile' }),
        200,
      );
      const reports = { client_id: 'reports-svc', client_secret: TEST_SECRETS.reports };
      expect(await json(post('/oauth/introspect', { ...reports, token: refreshed.access_token }), 200)).toMatchObject({ active: true });
      expect(await json(post('/oauth/introspect', { ...reports, token: tokens.access_token }), 200)).toEqual({ active: false });
      await json(post('/oauth/revoke', { client_id: 'mobile-app', token: refreshed.refresh_token }), 200);
      expect(await json(post('/oauth/introspect', { ...reports, token: refreshed.access_token }), 200)).toEqual({ active: false });
    });
    expect(actionsOf(calls)).toEqual(
      expect.arrayContaining(['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'secretsmanager:GetSecretValue']),
    );
    const keys = calls.flatMap((c) => c.leadingKeys ?? []);
    for (const prefix of ['AUTHZ#', 'CSESS#', 'APPCLIENT'])
      expect(
        keys.some((k) => k.startsWith(prefix)),
        prefix,
      ).toBe(true);
  });

  it('storefront: anonymous login and refresh, failed and good customer login, validate, refresh, legal entity, logout', async () => {
    const calls = await run('storefront', async (handler) => {
      const get = (path: string, query: Record<string, string>, headers: Record<string, string> = {}) =>
        handler(httpEvent('GET', `${path}?${new URLSearchParams(query)}`, { headers }));
      const storefront = { tenant: 'acme', client_id: 'storefront-web' };
      const anonymous = await json(get('/customerlogin/auth/anonymous/login', storefront), 200);
      const refreshed = await json(
        get('/customerlogin/auth/anonymous/refresh', { ...storefront, refresh_token: anonymous.refresh_token }),
        200,
      );
      const login = (password: string) =>
        handler(
          httpEvent('POST', '/customer/acme/login', {
            headers: { 'content-type': 'application/json', authorization: `Bearer ${refreshed.access_token}` },
            body: JSON.stringify({ email: 'ann@example.com', password }),
          }),
        );
      await json(login('wrong-password'), 401);
      const customer = await json(login('correct-horse'), 200);
      await json(get('/customer/acme/validateauthtoken', {}, { authorization: `Bearer ${customer.access_token}` }), 200);
      const next = await json(get('/customer/acme/refreshauthtoken', { refreshToken: customer.refresh_token }), 200);
      const switched = await json(get('/customer/acme/refreshauthtoken', { refreshToken: next.refresh_token, legalEntityId: 'LE-2' }), 200);
      const logout = await get('/customer/acme/logout', { accessToken: switched.access_token });
      expect(logout.statusCode).toBeLessThan(300);
    });
    expect(actionsOf(calls)).toEqual(
      expect.arrayContaining([
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'dynamodb:BatchGetItem',
        'dynamodb:GetItem',
        'secretsmanager:GetSecretValue',
      ]),
    );
  });

  it('authorize: the request, a wrong and a right sign-in, a refused attempt, a stale form', async () => {
    await broker.deps.directory.putAppClient({
      clientId: 'drift-app',
      tenant: 'acme',
      type: 'public',
      redirectUris: ['https://app.example/cb'],
      scopes: ['customer.customer_read_own'],
      accessTokenFormat: 'opaque',
    });
    const calls = await run('authorize', async (handler) => {
      const start = async () => {
        const query = new URLSearchParams({
          response_type: 'code',
          client_id: 'drift-app',
          redirect_uri: 'https://app.example/cb',
          state: 'xyz',
          code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGrSFuw9cM',
          code_challenge_method: 'S256',
        });
        const page = await handler(httpEvent('GET', `/oauth/authorize?${query}`));
        expect(page.statusCode, String(page.body)).toBe(200);
        const csrf = /^tb_csrf=([^;]+)/.exec(page.cookies![0]!)![1]!;
        const request = /name="request" value="([^"]+)"/.exec(String(page.body))![1]!;
        return { csrf, request };
      };
      const post = (form: { csrf: string; request: string }, password: string) =>
        handler({
          ...httpEvent('POST', '/oauth/authorize', {
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams({ request: form.request, email: 'ann@example.com', password }).toString(),
          }),
          cookies: [`tb_csrf=${form.csrf}`],
        });
      const first = await start();
      expect((await post(first, 'wrong-password')).statusCode).toBe(200);
      const signedIn = await post(first, 'correct-horse');
      expect(signedIn.statusCode).toBe(303);
      expect((await post(first, 'correct-horse')).statusCode).toBe(400);
      // Three failures slow the account; the fourth attempt at once is refused and reads the counter.
      const second = await start();
      for (let i = 0; i < 3; i++) expect((await post(second, 'wrong-password')).statusCode).toBe(200);
      expect((await post(second, 'wrong-password')).statusCode).toBe(429);
    });
    expect(actionsOf(calls)).toEqual([
      'dynamodb:BatchGetItem',
      'dynamodb:DeleteItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
    ]);
  });

  it('federation: social login (pending signup discarded, provisioned, linked, linked by email), token exchange, an unknown config', async () => {
    const anonymous = async () => {
      const query = new URLSearchParams({ tenant: 'acme', client_id: 'storefront-web' });
      return ((await (await fetch(`${broker.url}/customerlogin/auth/anonymous/login?${query}`)).json()) as Json).access_token as string;
    };
    await broker.deps.customers.putCustomer({
      tenant: 'acme',
      email: 'cid@example.com',
      passwordHash: 'scrypt$pending',
      customerNumber: 'P-1',
      legalEntities: [],
      initialPassword: false,
      pending: true,
    });
    const codes = {
      cid: await idp.getCode({ login: 'cid' }),
      again: await idp.getCode({ login: 'cid' }),
      ann: await idp.getCode({ login: 'ann' }),
    };
    const now = Math.floor(Date.now() / 1000);
    const external = await idp.signAccessToken({
      iss: idp.issuer,
      sub: 'eve',
      aud: 'https://api.acme.example',
      email: 'eve@example.com',
      email_verified: true,
      iat: now,
      exp: now + 300,
    });
    const tokens = await Promise.all([anonymous(), anonymous(), anonymous(), anonymous(), anonymous()]);
    const calls = await run('federation', async (handler) => {
      const post = (path: string, query: Record<string, string>, bearer: string) =>
        handler(
          httpEvent('POST', `/customer/acme/${path}?${new URLSearchParams(query)}`, { headers: { authorization: `Bearer ${bearer}` } }),
        );
      await json(post('socialLogin', { code: codes.cid }, tokens[0]!), 200);
      await json(post('socialLogin', { code: codes.again }, tokens[1]!), 200);
      await json(post('socialLogin', { code: codes.ann }, tokens[2]!), 200);
      await json(post('exchangeauthtoken', { subjectAccessToken: external }, tokens[3]!), 200);
      await json(post('exchangeauthtoken', { subjectAccessToken: external, config: 'nope' }, tokens[4]!), 400);
    });
    expect(actionsOf(calls)).toEqual([
      'dynamodb:BatchGetItem',
      'dynamodb:DeleteItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'secretsmanager:GetSecretValue',
    ]);
    const keys = calls.flatMap((c) => c.leadingKeys ?? []);
    for (const prefix of ['IDENT#', 'CUST#', 'CSESS#', 'T#', 'TENANT'])
      expect(
        keys.some((k) => k.startsWith(prefix)),
        prefix,
      ).toBe(true);
  });

  it('signup: signup (mail sent), a duplicate, the link (once), resend for a pending and an unknown address, a failed mail', async () => {
    const anonymous = async () => {
      const query = new URLSearchParams({ tenant: 'acme', client_id: 'storefront-web' });
      return ((await (await fetch(`${broker.url}/customerlogin/auth/anonymous/login?${query}`)).json()) as Json).access_token as string;
    };
    const acme = (await broker.deps.directory.getTenant('acme'))!;
    await broker.deps.directory.putTenant({
      ...acme,
      mail: { from: 'shop@acme.example', optInLink: 'https://shop.example/optin?t={token}' },
    });
    const sent: string[] = [];
    const ses = mockClient(SESv2Client);
    ses.on(SendEmailCommand).callsFake((input: { Content?: { Raw?: { Data?: Uint8Array } } }) => {
      sent.push(Buffer.from(input.Content!.Raw!.Data!).toString('ascii'));
      return { MessageId: `m-${sent.length}` };
    });
    const tokens = await Promise.all([anonymous(), anonymous(), anonymous(), anonymous()]);
    try {
      const calls = await run('signup', async (handler) => {
        const post = (path: string, body: unknown, bearer?: string) =>
          handler(
            httpEvent('POST', `/customer/acme/${path}`, {
              headers: { 'content-type': 'application/json', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
              body: JSON.stringify(body),
            }),
          );
        await json(post('signup', { email: 'sig@example.com', password: 'long-enough' }, tokens[0]!), 201);
        await json(post('signup', { email: 'sig@example.com', password: 'long-enough' }, tokens[0]!), 409);
        const token = new URL(/https:\/\/shop\.example\/optin\?t=\S+/.exec(linkText(sent[0]!))![0]).searchParams.get('t')!;
        const click = (bearer: string) =>
          handler(
            httpEvent('GET', `/customer/acme/signup/optin/${encodeURIComponent(token)}`, {
              headers: { authorization: `Bearer ${bearer}` },
            }),
          );
        await json(click(tokens[1]!), 200);
        await json(click(tokens[2]!), 400);
        await json(post('signup', { email: 'pend@example.com', password: 'long-enough' }, tokens[3]!), 201);
        broker.clock.advance(61);
        await json(post('signup/optin/refresh_token', { email: 'pend@example.com' }), 202);
        await json(post('signup/optin/refresh_token', { email: 'nobody@example.com' }), 202);
        // A mail that cannot be sent opens the gate again (DeleteItem on MAILGATE#): 503.
        ses.on(SendEmailCommand).rejects(Object.assign(new Error('Throttling'), { name: 'TooManyRequestsException' }));
        await json(post('signup', { email: 'fail@example.com', password: 'long-enough' }, tokens[3]!), 503);
      });
      expect(actionsOf(calls)).toEqual([
        'dynamodb:BatchGetItem',
        'dynamodb:DeleteItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'secretsmanager:GetSecretValue',
      ]);
      const keys = calls.flatMap((c) => c.leadingKeys ?? []);
      for (const prefix of ['CUST#', 'OPTIN#', 'MAILGATE#', 'SRC#', 'CSESS#', 'T#', 'TENANT'])
        expect(
          keys.some((k) => k.startsWith(prefix)),
          prefix,
        ).toBe(true);
    } finally {
      ses.restore();
      await broker.deps.directory.putTenant(acme);
    }
  });

  it('discovery: metadata and JWKS', async () => {
    const calls = await run('discovery', async (handler) => {
      expect(await json(handler(httpEvent('GET', '/.well-known/oauth-authorization-server')), 200)).toMatchObject({ issuer: ISSUER });
      expect((await json(handler(httpEvent('GET', '/.well-known/jwks.json')), 200)).keys.length).toBeGreaterThan(0);
    });
    expect(actionsOf(calls)).toEqual(['dynamodb:GetItem']);
  });

  it('warmup: one run', async () => {
    // Its warmup client with JWT access tokens: the warm-up reads the signing key and signs.
    await useJwtAccessTokens('orders-svc');
    const calls = await run('warmup', async (_, module) => {
      const report = await module.handler();
      expect(report).toMatchObject({ failed: 0 });
      expect(report.refreshed).toBeGreaterThan(0);
    });
    expect(actionsOf(calls)).toEqual(expect.arrayContaining(['dynamodb:Query', 'dynamodb:PutItem', 'secretsmanager:GetSecretValue']));
  });

  it('fallback: an unknown path, without touching anything', async () => {
    const calls = await run('fallback', async (handler) => {
      await json(handler(httpEvent('GET', '/nowhere')), 404);
    });
    expect(calls).toEqual([]);
  });
});

describe('the checker reads the policy as IAM would', () => {
  const table = () => ({ 'Fn::GetAtt': [logicalId(stack.table), 'Arn'] });
  const get = (action: string, ...keys: string[]): Call => ({
    action: `dynamodb:${action}`,
    resource: table(),
    leadingKeys: keys,
    describe: `${action} ${keys}`,
  });

  it.each([
    ['oauth', 'PutItem', ['JWKS'], 'publish its own signing key'],
    ['oauth', 'PutItem', ['CUST#acme#ann@example.com'], "overwrite a customer's password hash"],
    ['oauth', 'GetItem', ['CUST#acme#ann@example.com'], 'read password hashes (a code names its customer)'],
    ['oauth', 'PutItem', ['AUTHZ#abc'], 'create authorization requests (the sign-in page does)'],
    ['warmup', 'PutItem', ['JWKS'], 'publish its own signing key'],
    ['warmup', 'UpdateItem', ['T#abc'], 'revoke tokens'],
    ['discovery', 'GetItem', ['CUST#acme#ann@example.com'], 'read password hashes'],
    ['discovery', 'Scan', [], 'scan the table'],
    ['storefront', 'PutItem', ['CUST#acme#ann@example.com'], "overwrite a customer's password hash"],
    ['storefront', 'UpdateItem', ['JWKS'], 'publish its own signing key'],
    ['storefront', 'GetItem', ['CLIENT'], 'read service clients'],
    ['storefront', 'BatchGetItem', ['T#abc', 'CACHE#orders-svc'], 'read cached service tokens in a batch'],
    ['fallback', 'GetItem', ['TENANT'], 'read anything'],
    ['authorize', 'GetItem', ['CLIENT'], 'read service clients'],
    ['authorize', 'PutItem', ['CUST#acme#ann@example.com'], "overwrite a customer's password hash"],
    ['authorize', 'PutItem', ['T#abc'], 'mint tokens'],
    ['authorize', 'UpdateItem', ['T#abc'], 'revoke or rotate tokens'],
    ['federation', 'UpdateItem', ['CUST#acme#ann@example.com'], "change a customer's password hash"],
    ['federation', 'GetItem', ['CLIENT'], 'read service clients'],
    ['federation', 'UpdateItem', ['LOCK#acme#ann@example.com'], 'touch login attempt counters'],
    ['federation', 'PutItem', ['JWKS'], 'publish its own signing key'],
    ['storefront', 'PutItem', ['IDENT#acme#abc'], 'link identities'],
    ['authorize', 'BatchGetItem', ['IDENT#acme#abc'], 'read linked identities'],
  ] as [BrokerFunctionName, string, string[], string][])('%s: %s %j is refused (it may not %s)', (name, action, keys) => {
    expect(violations(name, [get(action, ...keys)])).toHaveLength(1);
  });

  it.each(['clientSecrets', 'keys', 'signingKeys'] as const)('authorize may not read the %s secret', (secret) => {
    expect(violations('authorize', [secretCall({ SecretId: secretId(stack.secrets[secret]) })])).toHaveLength(1);
  });

  it.each(['oauth', 'storefront', 'warmup', 'authorize', 'discovery'] as const)(
    '%s may not read the identity providers’ secrets',
    (name) => {
      const call = secretCall({ SecretId: secretId(stack.secrets.identityProviderSecrets) });
      expect(violations(name, [call])).toHaveLength(1);
      expect(violations('federation', [call])).toEqual([]);
    },
  );

  it.each(['clientSecrets', 'keys'] as const)('federation may not read the %s secret', (secret) => {
    expect(violations('federation', [secretCall({ SecretId: secretId(stack.secrets[secret]) })])).toHaveLength(1);
  });

  it('warmup may not read the client secrets', () => {
    const call = secretCall({ SecretId: secretId(stack.secrets.clientSecrets) });
    expect(violations('warmup', [call])).toHaveLength(1);
    expect(violations('oauth', [call])).toEqual([]);
  });

  it('allows a batch only when one statement covers every key', () => {
    expect(violations('storefront', [get('BatchGetItem', 'T#abc', 'CUST#acme#ann@example.com', 'LOCK#acme#ann@example.com')])).toEqual([]);
  });
});

// --- running a function ---------------------------------------------------------------------

/** Switches a seeded service client to JWT access tokens, in the table the Lambda entries read. */
async function useJwtAccessTokens(clientId: string): Promise<void> {
  const client = await broker.deps.directory.getServiceClient(clientId);
  await broker.deps.directory.putServiceClient({ ...client!, accessTokenFormat: 'jwt' });
}

/** The Lambda entries, exactly as CDK bundles them. */
const ENTRIES: Record<BrokerFunctionName, () => Promise<any>> = {
  oauth: () => import('../../functions/entry-points/oauth.js'),
  storefront: () => import('../../functions/entry-points/storefront.js'),
  discovery: () => import('../../functions/entry-points/discovery.js'),
  warmup: () => import('../../functions/entry-points/warmup.js'),
  fallback: () => import('../../functions/entry-points/fallback.js'),
  authorize: () => import('../../functions/entry-points/authorize.js'),
  federation: () => import('../../functions/entry-points/federation.js'),
  signup: () => import('../../functions/entry-points/signup.js'),
};

/**
 * Cold-starts the function's Lambda entry with the environment its template gives it, runs the
 * flows, and returns (after checking them) the calls it made.
 */
async function run(name: BrokerFunctionName, flows: (handler: Handler, module: any) => Promise<void>): Promise<Call[]> {
  Object.assign(process.env, {
    AWS_REGION: 'eu-central-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_ENDPOINT_URL_DYNAMODB: endpoint,
    ...functionEnvironment(name),
  });
  // A fresh module graph, as in a new Lambda instance: nothing shared with the local broker.
  vi.resetModules();
  recorded.length = 0;
  sm.resetHistory();
  vi.spyOn(console, 'log').mockImplementation(() => {});
  recording = name;
  try {
    const module = await ENTRIES[name]();
    await flows(module.handler as Handler, module);
  } finally {
    recording = undefined;
    vi.restoreAllMocks();
  }
  const calls = [...recorded, ...sm.commandCalls(GetSecretValueCommand).map((c) => secretCall(c.args[0].input))];
  expect(violations(name, calls)).toEqual([]);
  return calls;
}

async function json(result: Promise<APIGatewayProxyStructuredResultV2>, status: number): Promise<Json> {
  const { statusCode, body } = await result;
  expect(statusCode, String(body)).toBe(status);
  return body ? JSON.parse(body as string) : {};
}

/** The function's environment from the template, with references resolved to the test's stand-ins. */
function functionEnvironment(name: BrokerFunctionName): Record<string, string> {
  const variables = resourceOf(stack.functions[name]).Properties.Environment.Variables as Record<string, unknown>;
  const resolve = (value: unknown): string => {
    if (typeof value === 'string') return value;
    const ref = (value as Json).Ref as string | undefined;
    if (ref === logicalId(stack.table)) return tableName;
    if (ref && resources[ref]?.Type === 'AWS::SecretsManager::Secret') return `arn:secret:${ref}`;
    const getAtt = (value as Json)['Fn::GetAtt'];
    if (getAtt?.[0] === logicalId(stack.api.api) && getAtt[1] === 'ApiEndpoint') return ISSUER;
    throw new Error(`no stand-in for ${JSON.stringify(value)}`);
  };
  return Object.fromEntries(Object.entries(variables).map(([key, value]) => [key, resolve(value)]));
}

const secretId = (secret: IConstruct) => `arn:secret:${logicalId(secret)}`;

// --- recording ------------------------------------------------------------------------------

/** The IAM requests one SDK command amounts to: transactions are checked item by item. */
function dynamoCalls(command: { constructor: { name: string }; input: Json }): Call[] {
  const operation = command.constructor.name.replace(/Command$/, '');
  const input = command.input;
  const call = (action: string, table: string, keys: Json[]): Call => {
    const leadingKeys = keys.map((key) => key?.pk?.S as string);
    const describe = `${action} on ${table} ${JSON.stringify(leadingKeys)}`;
    return { action: `dynamodb:${action}`, resource: tableResource(table), leadingKeys, describe };
  };
  switch (operation) {
    case 'GetItem':
    case 'DeleteItem':
    case 'UpdateItem':
      return [call(operation, input.TableName, [input.Key])];
    case 'PutItem':
      return [call(operation, input.TableName, [input.Item])];
    case 'BatchGetItem':
      return Object.entries(input.RequestItems as Json).map(([table, request]) => call(operation, table, request.Keys));
    case 'BatchWriteItem':
      return Object.entries(input.RequestItems as Json).map(([table, requests]) =>
        call(
          operation,
          table,
          (requests as Json[]).map((r) => r.PutRequest?.Item ?? r.DeleteRequest?.Key),
        ),
      );
    case 'Query':
      return [call(operation, input.TableName, [{ pk: queriedPartition(input) }])];
    case 'TransactGetItems':
    case 'TransactWriteItems': {
      const kinds: Record<string, string> = {
        Get: 'GetItem',
        Put: 'PutItem',
        Update: 'UpdateItem',
        Delete: 'DeleteItem',
        ConditionCheck: 'ConditionCheckItem',
      };
      return (input.TransactItems as Json[]).flatMap((item) =>
        Object.entries(item).map(([kind, op]) => call(kinds[kind] ?? kind, op.TableName, [op.Key ?? op.Item])),
      );
    }
    default:
      // Scan and anything else: no partition key, so ForAllValues conditions hold vacuously.
      return [call(operation, input.TableName, [])];
  }
}

/** The partition key value of `pk = :value` in a Query's key condition. */
function queriedPartition(input: Json): Json {
  const names: Record<string, string> = input.ExpressionAttributeNames ?? {};
  for (const [, name, value] of String(input.KeyConditionExpression).matchAll(/([#\w]+)\s*=\s*(:\w+)/g)) {
    if ((names[name!] ?? name) === 'pk') return input.ExpressionAttributeValues[value!];
  }
  throw new Error(`Query without a partition key condition: ${input.KeyConditionExpression}`);
}

function tableResource(name: string): unknown {
  return name === tableName ? { 'Fn::GetAtt': [logicalId(stack.table), 'Arn'] } : `unknown table ${name}`;
}

function secretCall(input: Json): Call {
  const id = String(input.SecretId);
  const ref = id.startsWith('arn:secret:') ? { Ref: id.slice('arn:secret:'.length) } : `unknown secret ${id}`;
  const describe = `GetSecretValue ${id} (${input.VersionStage ?? 'AWSCURRENT'})`;
  return { action: 'secretsmanager:GetSecretValue', resource: ref, describe };
}

const actionsOf = (calls: Call[]) => [...new Set(calls.map((c) => c.action))].sort();

// --- the checker ----------------------------------------------------------------------------

/** The calls no Allow statement of the function's role permits (or a Deny forbids). */
function violations(name: BrokerFunctionName, calls: Call[]): string[] {
  const statements = statementsOf(name);
  const matches = (statement: Json, call: Call) =>
    [statement.Action].flat().some((pattern: string) => glob(pattern, call.action, true)) &&
    [statement.Resource].flat().some((resource) => resource === '*' || JSON.stringify(resource) === JSON.stringify(call.resource)) &&
    conditionsHold(statement.Condition ?? {}, call);
  return calls
    .filter((call) => {
      const allowed = statements.some((s) => s.Effect === 'Allow' && matches(s, call));
      const denied = statements.some((s) => s.Effect === 'Deny' && matches(s, call));
      return !allowed || denied;
    })
    .map((call) => `${name}: ${call.describe}`);
}

/**
 * The condition operators the broker's policies use, evaluated as IAM does; any other operator
 * or key fails closed, so a policy this checker cannot read never passes by accident.
 */
function conditionsHold(condition: Json, call: Call): boolean {
  return Object.entries(condition).every(([operator, keys]) =>
    Object.entries(keys as Json).every(([key, patterns]) => {
      if (key !== 'dynamodb:LeadingKeys') return false;
      const values = call.leadingKeys ?? [];
      const list = [patterns].flat() as string[];
      const one = (value: string) =>
        list.some((p) => (operator.endsWith('StringLike') ? glob(p, value, false) : operator.endsWith('StringEquals') && p === value));
      if (operator === 'ForAllValues:StringLike' || operator === 'ForAllValues:StringEquals') return values.every(one);
      if (operator === 'ForAnyValue:StringLike' || operator === 'ForAnyValue:StringEquals') return values.some(one);
      return false;
    }),
  );
}

/** IAM wildcards: `*` any run of characters, `?` one character. */
function glob(pattern: string, value: string, ignoreCase: boolean): boolean {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${source}$`, ignoreCase ? 'i' : '').test(value);
}

// --- the template ---------------------------------------------------------------------------

function logicalId(construct: IConstruct): string {
  const element = (construct.node.defaultChild ?? construct) as CfnElement;
  return Stack.of(construct).getLogicalId(element);
}

function resourceOf(construct: IConstruct): Json {
  return resources[logicalId(construct)]!;
}

/** Every statement of every policy of the function's role: inline in the role, or attached to it. */
function statementsOf(name: BrokerFunctionName): Json[] {
  const roleId = resourceOf(stack.functions[name]).Properties.Role['Fn::GetAtt'][0];
  const role = resources[roleId]!;
  // A managed policy's statements are not in the template: refuse rather than check half a role.
  expect(role.Properties.ManagedPolicyArns ?? []).toEqual([]);
  const inline = (role.Properties.Policies ?? []) as Json[];
  const attached = Object.values(resources).filter(
    (r) => r.Type === 'AWS::IAM::Policy' && (r.Properties.Roles ?? []).some((ref: Json) => ref.Ref === roleId),
  );
  return [...inline, ...attached.map((p) => p.Properties)].flatMap((p) => [p.PolicyDocument.Statement].flat());
}

/** The text part of a raw mail. */
function linkText(raw: string): string {
  return parseEml(raw).parts.find((part) => part.contentType.startsWith('text/plain'))?.body ?? '';
}
