import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { createConfig, lintFromString } from '@redocly/openapi-core';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { matchRoute, ROUTES, routeKey } from '../../functions/http/route-table.js';
import { DOCUMENTED_ROUTE_KEYS } from '../../functions/openapi/document.js';
import { publish } from '../../functions/openapi/publish.js';
import * as published from '../../functions/openapi/published.js';
import { unpack } from '../../functions/openapi/serve.js';
import { APP_CLIENTS, codeThroughSignIn, grantSeed } from '../support/authorization.js';
import { CHALLENGE, VERIFIER } from '../support/authorize.js';
import { linkFromMail } from '../support/eml.js';
import { basic, postForm, startTestBroker, type TestBroker } from '../support/local-broker.js';
import { startOidcProvider, type OidcProviderFixture } from '../support/oidc-provider.js';
import { TEST_SECRETS } from '../support/seed.js';
import { Storefront } from '../support/storefront.js';

/**
 * The API document (contract section 12, issue 14 item 6): the published copy is what the
 * builder makes now, it lints clean with Redocly's recommended rules, it describes exactly the
 * route table, and real answers of `npm start`'s broker over HTTP — a success and at least one
 * error for every route — conform to it (ajv, JSON Schema 2020-12 as OpenAPI 3.1 uses it).
 */

// ajv-formats is CommonJS with a default export; under NodeNext its type is the module namespace.
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => void;
const VERSION = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;
const LINK = 'https://shop.acme.example/optin?token=';
const AUDIENCE = 'https://api.acme.example';

let broker: TestBroker;
let idp: OidcProviderFixture;
let shop: Storefront;
let document: any;
let ajv: Ajv2020;

/** Per route key, what was validated: a success, an error. */
const validated = new Map<string, Set<'success' | 'error'>>();

beforeAll(async () => {
  idp = await startOidcProvider();
  const seed: any = grantSeed();
  Object.assign(seed.tenants.acme, {
    mail: { from: 'shop@acme.example', optInLink: `${LINK}{token}` },
    identityProviders: {
      default: idp.seedEntry({ audience: AUDIENCE, validation: 'jwks' }),
    },
  });
  // A tenant inside its legacy window (the test clock is in 2030): the camelCase copies too.
  Object.assign(seed.tenants.globex, {
    settings: { legacyTokenFieldsUntil: '2099-01-01' },
    customers: [{ email: 'gil@example.com', password: 'gils-password', customerNumber: 'G-1' }],
  });
  broker = await startTestBroker(seed);
  shop = new Storefront(broker.url);
  document = await (await fetch(`${broker.url}/openapi.json`)).json();
  ajv = new Ajv2020({ strict: false, validateSchema: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema(document, 'openapi.json');
});

afterAll(async () => {
  await broker?.stop();
  await idp?.stop();
});

// --- validation against the document --------------------------------------------------------------

const pointer = (...segments: string[]) => segments.map((s) => encodeURIComponent(s.replace(/~/g, '~0').replace(/\//g, '~1'))).join('/');

interface Checked {
  status: number;
  headers: Headers;
  text: string;
  body: any;
}

/**
 * Sends a request, finds its operation by the route table and the answer's response in the
 * document (the exact status; `4XX` only for 404/405, `default` only for 500), and validates the
 * body against that response's schema for its media type.
 */
async function call(url: string, init: RequestInit = {}): Promise<Checked> {
  const response = await fetch(url, { redirect: 'manual', ...init });
  const text = await response.text();
  const method = (init.method ?? 'GET').toUpperCase();
  const path = new URL(url).pathname;
  const { match } = matchRoute(method, path);
  // A method the path does not take: the document's answer is under the operations of the path.
  const route = match?.route ?? ROUTES.find((r) => matchRoute(r.method, path).match?.route === r)!;
  expect(route, `${method} ${path} is routed`).toBeDefined();
  const key = routeKey(route);
  const operation = document.paths[route.path][route.method.toLowerCase()];
  const status = String(response.status);
  const range = `${status[0]}XX`;
  const responseKey = operation.responses[status] ? status : operation.responses[range] ? range : 'default';
  if (response.status === 404 || response.status === 405) expect(responseKey, `${key} ${status}`).toBe('4XX');
  else if (response.status !== 500) expect(responseKey, `${key} answered ${status}, which the document does not list`).toBe(status);
  let spec = operation.responses[responseKey];
  let base = pointer('paths', route.path, route.method.toLowerCase(), 'responses', responseKey);
  if (spec.$ref) {
    base = spec.$ref.slice(2);
    spec = base.split('/').reduce((node: any, segment: string) => node[segment.replace(/~1/g, '/').replace(/~0/g, '~')], document);
  }
  let body: any;
  if (!spec.content) {
    expect(text, `${key} ${status} has no body`).toBe('');
  } else {
    const media = (response.headers.get('content-type') ?? '').split(';')[0]!.trim();
    expect(Object.keys(spec.content), `${key} ${status} media type`).toContain(media);
    if (media === 'application/json') {
      body = JSON.parse(text);
      const validate = ajv.getSchema(`openapi.json#/${base}/content/${pointer('application/json')}/schema`);
      expect(validate, `schema of ${key} ${status}`).toBeDefined();
      const valid = validate!(body);
      expect(valid, `${key} ${status}: ${JSON.stringify(validate!.errors)} in ${text.slice(0, 400)}`).toBe(true);
    }
  }
  for (const [name, header] of Object.entries<any>(spec.headers ?? {})) {
    const resolved = header.$ref ? document.components.headers[header.$ref.split('/').pop()] : header;
    if (resolved.schema?.const !== undefined && response.headers.has(name)) expect(response.headers.get(name)).toBe(resolved.schema.const);
  }
  const seen = validated.get(key) ?? new Set();
  seen.add(response.status < 400 ? 'success' : 'error');
  validated.set(key, seen);
  return { status: response.status, headers: response.headers, text, body };
}

const form = (params: Record<string, string>, headers: Record<string, string> = {}): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
  body: new URLSearchParams(params).toString(),
});
const jsonPost = (body: unknown, bearer?: string): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
  body: JSON.stringify(body),
});
const bearer = (token: string, method = 'GET'): RequestInit => ({ method, headers: { authorization: `Bearer ${token}` } });
const ordersBasic = { authorization: basic('orders-svc', TEST_SECRETS.orders) };

async function anonymousToken(): Promise<string> {
  return (await shop.anonymousLogin()).body.access_token as string;
}

// --- the document itself ---------------------------------------------------------------------------

describe('the OpenAPI document', () => {
  it('is published as the builder makes it now (else: npm run build:docs)', () => {
    const now = publish(VERSION);
    expect(unpack(published.OPENAPI_JSON_BR) === now.OPENAPI_JSON, 'functions/openapi/published.ts is stale: run npm run build:docs').toBe(
      true,
    );
    expect(unpack(published.DOCS_HTML_BR) === now.DOCS_HTML, 'functions/openapi/published.ts is stale: run npm run build:docs').toBe(true);
    expect(published.DOCS_STYLE_HASH).toBe(now.DOCS_STYLE_HASH);
  });

  it('lints clean with the Redocly recommended ruleset, as served', async () => {
    const config = await createConfig({ extends: ['recommended'] });
    const problems = await lintFromString({ source: JSON.stringify(document), absoluteRef: `${broker.url}/openapi.json`, config });
    expect(problems.map((p) => `${p.severity} ${p.ruleId}: ${p.message} at ${p.location[0]?.pointer}`)).toEqual([]);
  });

  it('describes exactly the routes of the route table, and names the configured issuer', async () => {
    const documented = Object.entries<any>(document.paths).flatMap(([path, item]) =>
      Object.keys(item).map((m) => `${m.toUpperCase()} ${path}`),
    );
    expect(documented.sort()).toEqual(ROUTES.map(routeKey).sort());
    expect([...DOCUMENTED_ROUTE_KEYS].sort()).toEqual(ROUTES.map(routeKey).sort());
    expect(document.openapi).toBe('3.1.0');
    expect(document.servers).toEqual([{ url: broker.issuer, description: 'The configured issuer.' }]);
  });

  it('refuses bodies that drift from it (the validation is not vacuous)', () => {
    const schema = (path: string, status: string) =>
      ajv.getSchema(`openapi.json#/${pointer('paths', path, 'post', 'responses', status, 'content', 'application/json', 'schema')}`)!;
    const service = { access_token: 'a', token_type: 'Bearer', expires_in: 1, session_idle_time: 120, scope: 'tenant=acme' };
    expect(schema('/oauth/token', '200')(service)).toBe(true);
    expect(schema('/oauth/token', '200')({ ...service, extra: 1 })).toBe(false);
    expect(schema('/oauth/token', '400')({ error: 'invalid_request', error_description: 'x' })).toBe(true);
    // An error code the table does not render at that status.
    expect(schema('/oauth/token', '400')({ error: 'invalid_client', error_description: 'x' })).toBe(false);
    expect(schema('/customer/{tenant}/login', '401')({ status: 401, type: 'unauthorized', message: 'x', details: [] })).toBe(true);
    expect(schema('/customer/{tenant}/login', '401')({ status: 400, type: 'unauthorized', message: 'x', details: [] })).toBe(false);
  });

  it('is served cacheable, as JSON', async () => {
    const response = await fetch(`${broker.url}/openapi.json`);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(response.headers.get('cache-control')).toBe('public, max-age=300');
  });
});

// --- real answers, every route -----------------------------------------------------------------------

describe('real answers conform to the document', () => {
  it('the token endpoint: every grant, every profile, and its errors', async () => {
    const token = `${broker.url}/oauth/token`;
    expect((await call(token, form({ grant_type: 'client_credentials' }, ordersBasic))).status).toBe(200);
    const oauth2 = await call(
      token,
      form({ grant_type: 'client_credentials', client_id: 'reports-svc', client_secret: TEST_SECRETS.reports }),
    );
    expect(oauth2.body.refresh_token).toBeUndefined();
    const redirectUri = 'http://127.0.0.1:4567/callback';
    const callback = await codeThroughSignIn(broker, { client: APP_CLIENTS.mobile, redirectUri, codeChallenge: CHALLENGE });
    const code = callback.searchParams.get('code')!;
    const redeem = { grant_type: 'authorization_code', client_id: 'mobile-app', code, redirect_uri: redirectUri, code_verifier: VERIFIER };
    const grant = await call(token, form(redeem));
    expect(grant.status).toBe(200);
    expect(
      (await call(token, form({ grant_type: 'refresh_token', client_id: 'mobile-app', refresh_token: grant.body.refresh_token }))).status,
    ).toBe(200);
    // Errors: the second redemption, a missing grant type, an unknown one, a scope, a client, a size.
    expect((await call(token, form(redeem))).body.error).toBe('invalid_grant');
    expect((await call(token, form({}, ordersBasic))).body.error).toBe('invalid_request');
    expect((await call(token, form({ grant_type: 'password' }, ordersBasic))).body.error).toBe('unsupported_grant_type');
    expect((await call(token, form({ grant_type: 'client_credentials', scope: 'order.order_delete' }, ordersBasic))).body.error).toBe(
      'invalid_scope',
    );
    expect((await call(token, form({ grant_type: 'authorization_code' }, ordersBasic))).body.error).toBe('unauthorized_client');
    const refused = await call(
      token,
      form({ grant_type: 'client_credentials' }, { authorization: basic('orders-svc', 'wrong-secret-0001') }),
    );
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toMatch(/^Basic /);
    expect((await call(token, form({ grant_type: 'client_credentials', pad: 'x'.repeat(17 * 1024) }, ordersBasic))).status).toBe(413);
    expect((await call(token, { method: 'GET' })).status).toBe(405);
  });

  it('introspection and revocation', async () => {
    const issued = await postForm(`${broker.url}/oauth/token`, { grant_type: 'client_credentials' }, ordersBasic).then(
      (r) => r.json() as Promise<any>,
    );
    const customer = await shop.customer();
    const introspect = `${broker.url}/oauth/introspect`;
    expect((await call(introspect, form({ token: issued.access_token }, ordersBasic))).body.active).toBe(true);
    const session = await call(introspect, form({ token: customer.login.access_token }, ordersBasic));
    expect(session.body).toMatchObject({ active: true, session_id: customer.login.session_id });
    expect((await call(introspect, form({ token: 'not-a-token' }, ordersBasic))).body).toEqual({ active: false });
    expect((await call(introspect, form({ token: issued.access_token }))).status).toBe(401);
    expect((await call(introspect, form({}, ordersBasic))).status).toBe(400);

    const revoke = `${broker.url}/oauth/revoke`;
    expect((await call(revoke, form({ token: issued.access_token }, ordersBasic))).body).toEqual({});
    expect((await call(revoke, form({}, ordersBasic))).status).toBe(400);
    expect((await call(revoke, form({ token: issued.access_token }, { authorization: basic('orders-svc', 'nope') }))).status).toBe(401);
  });

  it('the authorization endpoint and the sign-in page', async () => {
    const query = new URLSearchParams({
      response_type: 'code',
      client_id: 'mobile-app',
      redirect_uri: 'http://127.0.0.1:4567/callback',
      code_challenge: CHALLENGE,
      code_challenge_method: 'S256',
      state: 's-1',
    });
    const authorize = `${broker.url}/oauth/authorize`;
    const page = await call(`${authorize}?${query}`);
    expect(page.status).toBe(200);
    const requestToken = /name="request" value="([^"]*)"/.exec(page.text)![1]!;
    const cookie = page.headers
      .getSetCookie()
      .find((c) => c.startsWith('tb_csrf='))!
      .split(';')[0]!;
    expect((await call(`${authorize}?${new URLSearchParams({ ...Object.fromEntries(query), client_id: 'nobody' })}`)).status).toBe(400);
    const plain = await call(`${authorize}?${new URLSearchParams({ ...Object.fromEntries(query), code_challenge_method: 'plain' })}`);
    expect(plain.status).toBe(303);

    const post = (params: Record<string, string>, withCookie = true) => call(authorize, form(params, withCookie ? { cookie } : {}));
    expect((await post({ request: requestToken, email: 'ann@example.com', password: 'wrong-password' })).status).toBe(200);
    expect((await post({ request: requestToken, email: 'ann@example.com', password: 'correct-horse' }, false)).status).toBe(400);
    const signedIn = await post({ request: requestToken, email: 'ann@example.com', password: 'correct-horse' });
    expect(signedIn.status).toBe(303);
    expect(signedIn.headers.get('location')).toMatch(/^http:\/\/127\.0\.0\.1:4567\/callback\?code=/);
  });

  it('discovery, the API description, and the methods they do not take', async () => {
    for (const path of ['/.well-known/oauth-authorization-server', '/.well-known/jwks.json', '/openapi.json', '/docs']) {
      expect((await call(`${broker.url}${path}`)).status).toBe(200);
      const wrong = await call(`${broker.url}${path}`, { method: 'POST' });
      expect(wrong.status).toBe(405);
      expect(wrong.headers.get('allow')).toBe('GET');
    }
  });

  it('anonymous storefront sessions', async () => {
    const login = `${broker.url}/customerlogin/auth/anonymous/login`;
    const started = await call(`${login}?tenant=acme&client_id=storefront-web&currency=EUR`);
    expect(started.status).toBe(200);
    expect((await call(`${login}?tenant=acme&client_id=nobody`)).status).toBe(401);
    expect((await call(`${login}?tenant=A&client_id=storefront-web`)).status).toBe(400);
    expect((await call(`${login}?tenant=acme&hybris-tenant=globex&client_id=storefront-web`)).status).toBe(400);

    const refresh = `${broker.url}/customerlogin/auth/anonymous/refresh`;
    const renewed = await call(
      `${refresh}?${new URLSearchParams({ tenant: 'acme', client_id: 'storefront-web', refresh_token: started.body.refresh_token })}`,
    );
    expect(renewed.body.sessionId).toBe(started.body.sessionId);
    const deprecated = await call(
      `${refresh}?${new URLSearchParams({ tenant: 'acme', client_id: 'storefront-web', anonymous_token: renewed.body.access_token })}`,
    );
    expect(deprecated.headers.get('deprecation')).toMatch(/^@\d+$/);
    expect((await call(`${refresh}?tenant=acme&client_id=storefront-web&refresh_token=${'A'.repeat(64)}`)).status).toBe(401);
    expect((await call(`${refresh}?tenant=acme&client_id=storefront-web`)).status).toBe(400);
  });

  it('customer login, refresh, validation, logout, the legacy fields and the lockout', async () => {
    const anonymous = await anonymousToken();
    const login = `${broker.url}/customer/acme/login`;
    const customer = await call(login, jsonPost({ email: 'ann@example.com', password: 'correct-horse' }, anonymous));
    expect(customer.status).toBe(200);
    expect((await call(login, jsonPost({ email: 'ann@example.com', password: 'wrong-password' }, await anonymousToken()))).status).toBe(
      401,
    );
    expect((await call(login, jsonPost({ email: 'ann@example.com', password: 'correct-horse' }, 'A'.repeat(64)))).body.fault).toBeDefined();
    expect((await call(login, jsonPost({ email: 'not-an-email' }, await anonymousToken()))).status).toBe(400);
    for (let attempt = 0; attempt < 3; attempt++) await shop.login(await anonymousToken(), 'nobody@example.com', 'wrong-password');
    const slowed = await call(login, jsonPost({ email: 'nobody@example.com', password: 'wrong-password' }, await anonymousToken()));
    expect(slowed.status).toBe(429);
    expect(slowed.headers.get('retry-after')).toMatch(/^\d+$/);

    const refresh = (query: Record<string, string>) => call(`${broker.url}/customer/acme/refreshauthtoken?${new URLSearchParams(query)}`);
    const refreshed = await refresh({ refreshToken: customer.body.refresh_token, legalEntityId: 'LE-1' });
    expect(refreshed.status).toBe(200);
    expect((await refresh({ refreshToken: refreshed.body.refresh_token, legalEntityId: 'LE-9' })).status).toBe(403);
    expect((await refresh({ refreshToken: 'A'.repeat(64) })).status).toBe(401);

    const validate = `${broker.url}/customer/acme/validateauthtoken`;
    expect((await call(validate, bearer(refreshed.body.access_token))).body.legalEntityId).toBe('LE-1');
    expect((await call(validate, bearer('A'.repeat(64)))).status).toBe(401);
    expect((await call(`${broker.url}/customer/-x-/validateauthtoken`, bearer(refreshed.body.access_token))).status).toBe(400);

    const logout = `${broker.url}/customer/acme/logout`;
    expect((await call(`${logout}?accessToken=${refreshed.body.access_token}`)).status).toBe(204);
    expect((await call(`${logout}?accessToken=${refreshed.body.access_token}`)).status).toBe(401);

    // globex is inside its legacy window: the camelCase copies and Deprecation and Sunset.
    const globex = new Storefront(broker.url, 'globex', 'globex-web');
    const legacy = await call(
      `${broker.url}/customer/globex/login`,
      jsonPost({ email: 'gil@example.com', password: 'gils-password' }, (await globex.anonymousLogin()).body.access_token),
    );
    expect(legacy.body.accessToken).toBe(legacy.body.access_token);
    expect(legacy.headers.get('sunset')).toBeTruthy();
  });

  it('federated login: social login and token exchange', async () => {
    const social = (query: Record<string, string>, token?: string) =>
      call(`${broker.url}/customer/acme/socialLogin?${new URLSearchParams(query)}`, token ? bearer(token, 'POST') : { method: 'POST' });
    expect((await social({ code: await idp.getCode({ login: 'ann' }) }, await anonymousToken())).status).toBe(200);
    expect((await social({ code: 'used-or-made-up-code' }, await anonymousToken())).status).toBe(401);
    expect((await social({ code: 'abc', config: 'no provider' }, await anonymousToken())).status).toBe(400);

    const now = Math.floor(Date.now() / 1000);
    const subjectAccessToken = await idp.signAccessToken({
      iss: idp.issuer,
      sub: 'fay',
      aud: AUDIENCE,
      email: 'fay@example.com',
      email_verified: true,
      iat: now,
      exp: now + 300,
    });
    const exchange = (query: Record<string, string>, token?: string) =>
      call(
        `${broker.url}/customer/acme/exchangeauthtoken?${new URLSearchParams(query)}`,
        token ? bearer(token, 'POST') : { method: 'POST' },
      );
    const exchanged = await exchange({ subjectAccessToken }, await anonymousToken());
    expect(exchanged.status, exchanged.text).toBe(200);
    expect((await exchange({ subjectAccessToken: 'not.a.jwt' }, await anonymousToken())).status).toBe(401);
    expect((await exchange({}, await anonymousToken())).status).toBe(400);
  });

  it('signup, confirmation and resend', async () => {
    const signup = `${broker.url}/customer/acme/signup`;
    const email = 'una@example.com';
    const created = await call(
      signup,
      jsonPost({ email, password: 'a-long-secret-pw', customerDetails: { firstName: 'Una' } }, await anonymousToken()),
    );
    expect(created.status).toBe(201);
    expect((await call(signup, jsonPost({ email, password: 'a-long-secret-pw' }, await anonymousToken()))).status).toBe(409);
    expect((await call(signup, jsonPost({ email, password: 'short' }, await anonymousToken()))).status).toBe(400);

    const mail = readdirSync(broker.outbox)
      .filter((name) => name.endsWith('.eml'))
      .map((name) => readFileSync(join(broker.outbox, name), 'utf8'))
      .find((raw) => raw.includes(`To: ${email}`))!;
    const token = new URL(linkFromMail(mail, LINK)).searchParams.get('token')!;
    const confirm = `${broker.url}/customer/acme/signup/optin/${token}`;
    expect((await call(confirm, bearer(await anonymousToken()))).status).toBe(200);
    expect((await call(confirm, bearer(await anonymousToken()))).status).toBe(400);

    const resend = `${broker.url}/customer/acme/signup/optin/refresh_token`;
    expect((await call(resend, jsonPost({ email: 'someone@example.com' }))).status).toBe(202);
    expect((await call(resend, jsonPost({ email: 'not an email' }))).status).toBe(400);
  });

  it('a store outage, in both shapes', async () => {
    const issued = await postForm(`${broker.url}/oauth/token`, { grant_type: 'client_credentials' }, ordersBasic).then(
      (r) => r.json() as Promise<any>,
    );
    const dynamo = mockClient(DynamoDBClient);
    dynamo.onAnyCommand().rejects(new ProvisionedThroughputExceededException({ message: 'Rate exceeded', $metadata: {} }));
    try {
      expect((await call(`${broker.url}/oauth/introspect`, form({ token: issued.access_token }, ordersBasic))).status).toBe(503);
      expect((await call(`${broker.url}/customerlogin/auth/anonymous/login?tenant=acme&client_id=storefront-web`)).status).toBe(503);
    } finally {
      dynamo.restore();
    }
  });

  it('covered every route: a success and an error each', () => {
    const missing = ROUTES.map(routeKey).flatMap((key) =>
      (['success', 'error'] as const).filter((kind) => !validated.get(key)?.has(kind)).map((kind) => `${key}: ${kind}`),
    );
    expect(missing).toEqual([]);
  });
});
