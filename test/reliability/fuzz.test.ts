import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { matchRoute, ROUTES } from '../../functions/http/route-table.js';
import { basic, postForm, startTestBroker, type TestBroker } from '../support/local-broker.js';
import { FULL, Histogram, rawRequest, size, type RawAnswer } from '../support/reliability-util.js';
import { TEST_SECRETS, testSeed } from '../support/seed.js';
import { Storefront } from '../support/storefront.js';
import { authorizeQuery, CHALLENGE, openAuthorize, SHOP_APP, VERIFIER, withShopApp } from '../support/authorize.js';
import { codeThroughSignIn } from '../support/authorization.js';

/**
 * Issue 4, fuzzing: property-based requests (fast-check) against local mode over HTTP, sent raw
 * (node:http, the path exactly as generated: no client-side URL normalisation).
 *
 * Generated: real routes (ROUTES, `{tenant}` filled with known, unknown and malformed tenants),
 * random and traversal-like paths, seven methods, Authorization variants (Basic with random
 * base64 and with real and random credentials, Bearer with random, real-looking and real tokens,
 * garbage), Content-Type variants (none, form, JSON with charset, multipart, others), query
 * strings (random and real parameter names, repeated keys, raw junk) and bodies (random text,
 * JSON values, forms and JSON objects with the real parameter names, up to ~40 KB).
 *
 * Property (contract, "Conventions" and section 7): the status is below 500 (the store is
 * healthy: no 503 either); every answer other than a 204 or a HEAD carries a JSON body
 * (Content-Type application/json); on /oauth/* and /.well-known/* it is a success body or exactly
 * `{ error, error_description }`; on every other path a success body, the 401 fault shape
 * `{ fault: { faultstring, detail: { errorcode } } }`, or `{ status, type, message, details }`
 * with `status` equal to the HTTP status. 404 and 405 included. A success body has its route's
 * shape (a token body, an introspection answer, `{}` for revocation, the metadata, the JWKS...);
 * 204 comes only from a CORS preflight or a logout.
 *
 * Request targets that a URL parser rejects (`//`, `///`...) are part of the property: this
 * fuzzer found local mode answering them 500, and the second test below pins the fix.
 *
 * numRuns: 10 000 with RELIABILITY=full (a new seed each run, printed in the summary line and by
 * fast-check on failure; FUZZ_SEED=<seed> replays one), 300 in the short form with a fixed seed.
 */

const NUM_RUNS = size(10_000, 300);
const SEED =
  process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : FULL ? (Date.now() ^ (Math.random() * 2 ** 31)) | 0 : 4_0404;

let broker: TestBroker;
/**
 * Real tokens for the Bearer header and token parameters. Fuzzed requests log out, revoke and
 * rotate them, so tokens in 200 answers are added as they come (the newest POOL_SIZE kept).
 */
const POOL_SIZE = 24;
const pool: string[] = [];
function remember(...tokens: unknown[]): void {
  for (const token of tokens) {
    if (typeof token !== 'string' || token === '') continue;
    pool.push(token);
    if (pool.length > POOL_SIZE) pool.shift();
  }
}

beforeAll(async () => {
  broker = await startTestBroker(withShopApp(testSeed()));
  const storefront = new Storefront(broker.url);
  // Real tokens of every kind, for the Bearer header, query and body values.
  for (const [id, secret] of [
    ['orders-svc', TEST_SECRETS.orders],
    ['reports-svc', TEST_SECRETS.reports],
    ['globex-svc', TEST_SECRETS.globex],
  ] as const) {
    const body = (await (
      await postForm(`${broker.url}/oauth/token`, { grant_type: 'client_credentials' }, { authorization: basic(id, secret) })
    ).json()) as Record<string, string>;
    remember(body.access_token);
  }
  for (let i = 0; i < 3; i++) {
    const anonymous = (await storefront.anonymousLogin()).body;
    remember(anonymous.access_token, anonymous.refresh_token);
  }
  const globex = (await new Storefront(broker.url, 'globex', 'globex-web').anonymousLogin()).body;
  remember(globex.access_token, globex.refresh_token);
  const { login } = await storefront.customer();
  remember(login.access_token, login.saas_token, login.refresh_token);
  // Pending authorization requests: the sign-in form's request token with its CSRF cookie.
  for (let i = 0; i < 3; i++) {
    const { request, csrf } = await openAuthorize(broker.url, authorizeQuery());
    forms.push({ request, csrf });
  }
  // Codes of the authorization_code grant (contract section 5): some to redeem, one redeemed (a
  // grant's tokens in the pool, and a replay whenever it comes up again).
  for (let i = 0; i < 4; i++) {
    const callback = await codeThroughSignIn(broker, { client: SHOP_APP, redirectUri: GRANT_REDIRECT, codeChallenge: CHALLENGE });
    codes.push(callback.searchParams.get('code')!);
  }
  const redeemed = await postForm(`${broker.url}/oauth/token`, {
    grant_type: 'authorization_code',
    client_id: SHOP_APP.clientId,
    code: codes[0]!,
    redirect_uri: GRANT_REDIRECT,
    code_verifier: VERIFIER,
  });
  const grant = (await redeemed.json()) as Record<string, string>;
  remember(grant.access_token, grant.refresh_token);
});

/** Codes issued to the shop app through the sign-in page, for its loopback redirect. */
const codes: string[] = [];
const GRANT_REDIRECT = 'http://127.0.0.1:4567/callback';

/** Sign-in forms of live authorization requests (contract section 8). */
const forms: { request: string; csrf: string }[] = [];

afterAll(() => broker.stop());

// --- arbitraries ---------------------------------------------------------------------------------

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'HEAD', 'PATCH'] as const;

/** Characters node:http accepts in a request path unescaped, and percent-escapes, some broken. */
const pathChar = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(..."abcdefghijklmnopqrstuvwxyzABCXYZ0123456789-._~!$&'()*+,;=:@".split('')) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '%2e',
      '%2E',
      '%2f',
      '%2F',
      '%00',
      '%25',
      '%zz',
      '%',
      '%C3%A9',
      '%FF',
      '%5c',
      '\\',
      '"',
      '<',
      '>',
      '{',
      '}',
      '|',
      '^',
      '`',
      '[',
      ']',
    ),
  },
);
const junkSegment = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: pathChar, maxLength: 12 }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '..',
      '.',
      '',
      '%2e%2e',
      '..%2f',
      '%2e%2e%2f',
      '....',
      '.well-known',
      'oauth',
      'token',
      'customer',
      'customerlogin',
      'auth',
      'anonymous',
      'login',
      'refresh',
      'introspect',
      'revoke',
      'jwks.json',
      'logout',
      'refreshauthtoken',
      'validateauthtoken',
      'health',
      'acme',
      'OAUTH',
      'Token',
    ),
  },
);

const tenant = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('acme', 'globex') },
  { weight: 1, arbitrary: fc.stringMatching(/^[a-z][a-z0-9]{2,15}$/) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'A',
      'ab',
      'Acme',
      'acme%20',
      '1acme',
      'ac-me',
      'x'.repeat(17),
      '..',
      '%2e%2e',
      '%00',
      '%',
      '%zz',
      'ac%6de',
      '%C3%A9t%C3%A9',
      'acme%2f..',
      'acme;x',
      '',
    ),
  },
  { weight: 1, arbitrary: fc.string({ unit: pathChar, maxLength: 20 }) },
);

const routePath = fc.tuple(fc.constantFrom(...ROUTES.map((route) => route.path)), tenant).map(([path, t]) => path.replace('{tenant}', t));

const path = fc.oneof(
  { weight: 6, arbitrary: routePath },
  { weight: 1, arbitrary: fc.constant('/health') },
  // Route paths with a twist: a trailing slash, a traversal, a doubled slash, another case.
  {
    weight: 2,
    arbitrary: fc
      .tuple(routePath, fc.constantFrom('/', '/..', '/../login', '/.', '//', '%2f', '/%2e%2e/token', '?', '#frag', ';x=1'))
      .map(([p, suffix]) => p + suffix),
  },
  { weight: 1, arbitrary: routePath.map((p) => p.toUpperCase()) },
  { weight: 1, arbitrary: routePath.map((p) => p.replace(/\//g, '//')) },
  { weight: 1, arbitrary: routePath.map((p) => `/.${p}`) },
  // Random and traversal-like paths.
  {
    weight: 4,
    arbitrary: fc
      .tuple(fc.constantFrom('/', '/', '/', '//', '/./', '/../', '/%2e%2e/'), fc.array(junkSegment, { maxLength: 6 }))
      .map(([prefix, segments]) => prefix + segments.join('/')),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '/',
      '//',
      '///',
      '/oauth',
      '/oauth/',
      '/.well-known',
      '/customer',
      '/customer/',
      '/customer//login',
      '/customer/acme',
      '/../../etc/passwd',
      '/oauth/../../../etc/passwd',
      '/%2e%2e/%2e%2e/etc/passwd',
      '/customerlogin/auth/anonymous',
      '*',
    ),
  },
);

const printable = fc.string({ unit: 'grapheme-ascii', maxLength: 80 });
const base64url64 = fc.uint8Array({ minLength: 48, maxLength: 48 }).map((bytes) => Buffer.from(bytes).toString('base64url'));
const realToken = fc.nat(POOL_SIZE - 1).map((i) => pool[pool.length - 1 - (i % Math.max(1, pool.length))] ?? '');
const tokenValue = fc.oneof(
  { weight: 2, arbitrary: realToken },
  { weight: 2, arbitrary: base64url64 },
  // A real token with one character changed: the right selector, the wrong verifier.
  {
    weight: 1,
    arbitrary: fc.tuple(realToken, fc.nat(63)).map(([t, i]) => (t ? t.slice(0, i) + (t[i] === 'A' ? 'B' : 'A') + t.slice(i + 1) : t)),
  },
  { weight: 1, arbitrary: printable },
);
const clientId = fc.oneof(
  fc.constantFrom('orders-svc', 'reports-svc', 'globex-svc', 'storefront-web', 'globex-web', 'shop-app', 'nobody', ''),
  printable,
);
const secret = fc.oneof(
  fc.constantFrom(TEST_SECRETS.orders, TEST_SECRETS.reports, TEST_SECRETS.globex, 'wrong-secret-0001', ''),
  printable,
);

const authorization = fc.oneof(
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 60 }).map((bytes) => `Basic ${Buffer.from(bytes).toString('base64')}`) },
  { weight: 2, arbitrary: fc.tuple(clientId, secret).map(([id, s]) => basic(id, s)) },
  { weight: 1, arbitrary: fc.tuple(printable, printable).map(([id, s]) => `Basic ${Buffer.from(`${id}:${s}`).toString('base64')}`) },
  { weight: 3, arbitrary: tokenValue.map((t) => `Bearer ${t}`) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        fc.constantFrom('Bearer', 'bearer', 'BEARER', 'Basic', 'basic', 'Digest', 'Token', ''),
        fc.constantFrom('', ' ', '  ', '\t'),
        tokenValue,
      )
      .map(([scheme, space, t]) => `${scheme}${space}${t}`),
  },
  { weight: 1, arbitrary: printable },
);

const contentType = fc.constantFrom(
  'application/x-www-form-urlencoded',
  'application/x-www-form-urlencoded; charset=UTF-8',
  'application/json',
  'application/json; charset=utf-8',
  'APPLICATION/JSON',
  'multipart/form-data; boundary=----fuzz',
  'text/plain',
  'application/xml',
  '*/*',
  ';',
  'application/json;',
);

const extraHeaders = fc.dictionary(
  fc.stringMatching(/^x-[a-z0-9-]{1,20}$/),
  printable.map((v) => v.trim()),
  { maxKeys: 3 },
);

/** Each header present or not; the CORS preflight pair rarely, so preflights stay a minority. */
const headers = fc
  .tuple(
    fc.option(authorization, { freq: 3 }),
    fc.option(contentType, { freq: 3 }),
    fc.option(fc.constantFrom('https://shop.example', 'null', 'http://evil.example'), { freq: 2 }),
    fc.option(fc.constantFrom('POST', 'GET', 'DELETE'), { freq: 4 }),
    extraHeaders,
  )
  .map(([auth, type, origin, preflightMethod, extra]) => {
    const all: Record<string, string> = { ...extra };
    if (auth !== null) all.authorization = auth.trim();
    if (type !== null) all['content-type'] = type;
    if (origin !== null) all.origin = origin;
    if (preflightMethod !== null) all['access-control-request-method'] = preflightMethod;
    return all;
  });

const PARAM_NAMES = [
  'subjectAccessToken',
  'config',
  'nonce',
  'tenant',
  'hybris-tenant',
  'client_id',
  'client_secret',
  'refresh_token',
  'anonymous_token',
  'refreshToken',
  'legalEntityId',
  'accessToken',
  'currency',
  'siteCode',
  'language',
  'targetLocation',
  'grant_type',
  'scope',
  'token',
  'token_type_hint',
  'email',
  'password',
  'response_type',
  'redirect_uri',
  'state',
  'code_challenge',
  'code_challenge_method',
  'request',
  'code',
  'code_verifier',
] as const;
const paramName = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...PARAM_NAMES) }, { weight: 1, arbitrary: printable });
const paramValue = fc.oneof(
  { weight: 2, arbitrary: printable },
  { weight: 2, arbitrary: tokenValue },
  { weight: 1, arbitrary: tenant },
  { weight: 1, arbitrary: clientId },
  { weight: 1, arbitrary: secret },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      'client_credentials',
      'refresh_token',
      'password',
      'authorization_code',
      'order.order_read',
      'order.order_read order.order_manage',
      'LE-1',
      'LE-9',
      'ann@example.com',
      'correct-horse',
      'x'.repeat(65),
    ),
  },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
);
const pairs = fc.array(fc.tuple(paramName, paramValue), { maxLength: 8 });
const encodePairs = (list: [string, string][]) => list.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');

const query = fc.oneof(
  { weight: 2, arbitrary: fc.constant('') },
  { weight: 5, arbitrary: pairs.map((list) => (list.length ? `?${encodePairs(list)}` : '')) },
  // Repeated keys.
  {
    weight: 1,
    arbitrary: fc.tuple(fc.constantFrom(...PARAM_NAMES), paramValue, paramValue).map(
      ([k, a, b]) =>
        `?${encodePairs([
          [k, a],
          [k, b],
        ])}`,
    ),
  },
  { weight: 1, arbitrary: fc.string({ unit: pathChar, maxLength: 30 }).map((junk) => `?${junk}`) },
  {
    weight: 1,
    arbitrary: fc.constantFrom('?', '??', '?&&&', '?=', '?a', '?a=1&a=2&a=3', '?tenant', '?tenant=', '?%zz=1', '?tenant=acme&tenant=acme'),
  },
);

/** Login credentials, mostly for accounts that soon lock (429 without a scrypt each time). */
const email = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('ann@example.com', 'ANN@example.com ', 'nobody@example.com', 'bob@example.org') },
  { weight: 1, arbitrary: printable },
);
const password = fc.oneof(fc.constantFrom('correct-horse', 'wrong-password', '12345', ''), printable);

const jsonObjectBody = fc
  .dictionary(paramName, fc.oneof({ weight: 4, arbitrary: paramValue }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) }), {
    maxKeys: 6,
  })
  .map((object) => JSON.stringify(object));

const body = fc.oneof(
  { weight: 3, arbitrary: fc.constant(undefined) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value)) },
  { weight: 3, arbitrary: pairs.map(encodePairs) },
  { weight: 3, arbitrary: jsonObjectBody },
  { weight: 1, arbitrary: fc.tuple(email, password).map(([e, p]) => JSON.stringify({ email: e, password: p })) },
  { weight: 1, arbitrary: fc.tuple(email, password).map(([e, p]) => new URLSearchParams({ email: e, password: p }).toString()) },
  // Large bodies, around the 16 KB limit and well past it.
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 64 }), fc.integer({ min: 15_000, max: 40_000 }), fc.boolean())
      .map(([chunk, length, form]) => {
        const filler = chunk.repeat(Math.ceil(length / chunk.length)).slice(0, length);
        return form ? `grant_type=client_credentials&scope=${encodeURIComponent(filler)}` : filler;
      }),
  },
);

/** Plausible values for the real parameters, so requests get past parsing into the use cases. */
/** Mostly `good`, sometimes anything the generic arbitrary makes. */
const mostly = (good: fc.Arbitrary<string>, other: fc.Arbitrary<string>) =>
  fc.oneof({ weight: 5, arbitrary: good }, { weight: 1, arbitrary: other });
const liveToken = fc.oneof({ weight: 4, arbitrary: realToken }, { weight: 1, arbitrary: tokenValue });

const plausible: Record<(typeof PARAM_NAMES)[number], fc.Arbitrary<string>> = {
  tenant: mostly(fc.constantFrom('acme', 'globex'), tenant),
  'hybris-tenant': mostly(fc.constantFrom('acme', 'globex'), tenant),
  client_id: mostly(fc.constantFrom('storefront-web', 'globex-web', SHOP_APP.clientId), clientId),
  client_secret: secret,
  refresh_token: liveToken,
  anonymous_token: liveToken,
  refreshToken: liveToken,
  legalEntityId: fc.oneof(fc.constantFrom('LE-1', 'LE-2', 'LE-9'), printable),
  accessToken: liveToken,
  currency: mostly(fc.constantFrom('EUR', 'USD'), fc.string({ unit: 'grapheme-ascii', maxLength: 70 })),
  siteCode: mostly(fc.constantFrom('main', 'de'), printable),
  language: mostly(fc.constantFrom('en', 'de'), fc.constant('x'.repeat(65))),
  targetLocation: mostly(fc.constantFrom('DE', 'US'), printable),
  grant_type: mostly(fc.constant('client_credentials'), fc.constantFrom('refresh_token', 'password', 'authorization_code', '')),
  scope: fc.oneof(
    fc.constantFrom('order.order_read', 'order.order_manage', 'order.order_read order.order_manage', 'admin', 'tenant=acme', ''),
    printable,
  ),
  token: liveToken,
  token_type_hint: fc.constantFrom('access_token', 'refresh_token', 'nonsense'),
  email,
  password,
  response_type: mostly(fc.constant('code'), fc.constantFrom('token', 'code id_token', '')),
  redirect_uri: mostly(
    fc.constantFrom('http://127.0.0.1:4567/callback', 'com.acme.shop:/callback', 'https://shop.example/cb?from=app'),
    fc.oneof(fc.constantFrom('https://evil.example/', 'http://localhost/callback', 'http://127.0.0.1/callback/../x'), printable),
  ),
  state: fc.oneof(printable, fc.constantFrom('"><script>alert(1)</script>', 'x'.repeat(1025))),
  code_challenge: mostly(fc.constant(CHALLENGE), printable),
  code_challenge_method: mostly(fc.constant('S256'), fc.constantFrom('plain', 's256', '')),
  request: mostly(
    fc.nat(2).map((i) => forms[i]?.request ?? ''),
    tokenValue,
  ),
  code: mostly(
    fc.nat(3).map((i) => codes[i] ?? ''),
    tokenValue,
  ),
  code_verifier: mostly(fc.constant(VERIFIER), fc.oneof(printable, fc.constant('v'.repeat(129)))),
  // Federated logins (contract section 10): no provider is configured here, so `default` and any
  // other name are unknown configs (400); the rest must be refused as malformed or unauthenticated.
  subjectAccessToken: fc.oneof(tokenValue, printable, fc.constant('x'.repeat(8193)), fc.constant('eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.')),
  config: fc.oneof(fc.constantFrom('default', 'closed', '__proto__', 'constructor', '../x', 'x'.repeat(65)), printable),
  nonce: fc.oneof(printable, fc.constant('n'.repeat(513))),
};
/**
 * What each route reads. `core` parameters are there most of the time, `optional` ones now and
 * then, so a good share of requests gets past parsing into the use cases and the store.
 */
type Param = (typeof PARAM_NAMES)[number];
const ROUTE_PARAMS: Record<string, { core: Param[]; optional: Param[] }> = {
  '/oauth/token': { core: ['grant_type'], optional: ['scope', 'refresh_token', 'client_id', 'code', 'redirect_uri', 'code_verifier'] },
  '/oauth/introspect': { core: ['token'], optional: ['token_type_hint'] },
  '/oauth/revoke': { core: ['token'], optional: ['token_type_hint'] },
  '/.well-known/oauth-authorization-server': { core: [], optional: [] },
  '/.well-known/jwks.json': { core: [], optional: [] },
  // The API description (contract section 12): static, reads nothing from the request.
  '/openapi.json': { core: [], optional: [] },
  '/docs': { core: [], optional: [] },
  '/customerlogin/auth/anonymous/login': {
    core: ['tenant', 'client_id'],
    optional: ['currency', 'siteCode', 'language', 'targetLocation'],
  },
  '/customerlogin/auth/anonymous/refresh': { core: ['tenant', 'client_id', 'refresh_token'], optional: ['anonymous_token'] },
  '/customer/{tenant}/login': { core: ['email', 'password'], optional: [] },
  '/customer/{tenant}/refreshauthtoken': { core: ['refreshToken'], optional: ['legalEntityId'] },
  '/customer/{tenant}/validateauthtoken': { core: [], optional: [] },
  '/customer/{tenant}/logout': { core: ['accessToken'], optional: [] },
  // Query parameters, though POST (contract section 10).
  '/customer/{tenant}/socialLogin': { core: ['code'], optional: ['redirect_uri', 'code_verifier', 'config', 'nonce', 'anonymous_token'] },
  '/customer/{tenant}/exchangeauthtoken': { core: ['subjectAccessToken'], optional: ['config'] },
  // Signup (contract section 11): JSON bodies; the link's token is a path segment.
  '/customer/{tenant}/signup': { core: ['email', 'password'], optional: [] },
  '/customer/{tenant}/signup/optin/{token}': { core: [], optional: [] },
  '/customer/{tenant}/signup/optin/refresh_token': { core: ['email'], optional: [] },
  // GET reads the request's parameters, POST the form's: one path, both sets.
  '/oauth/authorize': {
    core: ['response_type', 'client_id', 'redirect_uri', 'code_challenge', 'code_challenge_method', 'request', 'email', 'password'],
    optional: ['scope', 'state'],
  },
};

const SERVICE_CLIENTS = [
  ['orders-svc', TEST_SECRETS.orders],
  ['reports-svc', TEST_SECRETS.reports],
  ['globex-svc', TEST_SECRETS.globex],
] as const;
/** Client credentials, mostly right, for Basic or for the body. */
const credentials = fc
  .tuple(
    fc.constantFrom(...SERVICE_CLIENTS),
    fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  )
  .map(([[id, right], ok]): [string, string] => [id, ok ? right : 'wrong-secret-0001']);

/** `arbitrary` one time in `outOf`, else null (fc.option's freq works the other way round). */
const rarely = <T>(arbitrary: fc.Arbitrary<T>, outOf: number) =>
  fc.oneof({ weight: outOf - 1, arbitrary: fc.constant(null) }, { weight: 1, arbitrary });

function routeParams(routePath: string): fc.Arbitrary<[string, string][]> {
  const { core, optional } = ROUTE_PARAMS[routePath]!;
  const entries = [
    ...core.map((name) =>
      fc.option(
        plausible[name].map((value): [string, string] => [name, value]),
        { freq: 8 },
      ),
    ),
    ...optional.map((name) =>
      fc.option(
        plausible[name].map((value): [string, string] => [name, value]),
        { freq: 2 },
      ),
    ),
  ];
  return fc
    .tuple(fc.tuple(...entries), rarely(pairs, 6))
    .map(([chosen, extra]) => [...chosen.filter((entry): entry is [string, string] => entry !== null), ...(extra ?? [])]);
}

const QUERY_POSTS = new Set(['/customer/{tenant}/socialLogin', '/customer/{tenant}/exchangeauthtoken']);

/** A route, mostly with its own method, parameters where it reads them and fitting headers. */
const routeDriven = fc.constantFrom(...ROUTES).chain((route) => {
  const isOAuth = route.path.startsWith('/oauth/');
  // The federated logins are POSTs that read the query string, as Emporix's are.
  const inBody = route.method === 'POST' && !QUERY_POSTS.has(route.path);
  return fc
    .record({
      method: fc.oneof(
        { weight: 8, arbitrary: fc.constant(route.method as string) },
        { weight: 1, arbitrary: fc.constantFrom(...METHODS) },
      ),
      tenant: fc.oneof({ weight: 4, arbitrary: fc.constantFrom('acme', 'globex') }, { weight: 1, arbitrary: tenant }),
      params: routeParams(route.path),
      credentials: fc.option(credentials, { freq: 6 }),
      basicAuth: fc.boolean(),
      json: fc.boolean(),
      bearer: fc.option(liveToken, { freq: 4 }),
      /** The sign-in form's CSRF cookie: mostly a live request's, sometimes anything. */
      csrf: fc.option(
        mostly(
          fc.nat(2).map((i) => forms[i]?.csrf ?? ''),
          printable,
        ),
        { freq: 4 },
      ),
      headers,
      /** Half the time, the authorization request of the app client, or a live form with its own cookie. */
      form: fc.option(fc.nat(2), { freq: 2 }),
      otherBody: rarely(body, 5),
      otherQuery: rarely(query, 6),
    })
    .map((r) => {
      const params = [...r.params];
      const headersOut: Record<string, string> = { ...r.headers };
      if (isOAuth && r.credentials) {
        if (r.basicAuth) headersOut.authorization = basic(r.credentials[0], r.credentials[1]);
        else params.push(['client_id', r.credentials[0]], ['client_secret', r.credentials[1]]);
      } else if (!isOAuth && r.bearer !== null) {
        headersOut.authorization = `Bearer ${r.bearer}`;
      }
      if (route.path === '/oauth/authorize' && r.form !== null) {
        // Past the client check (GET) or the CSRF check (POST), into the use case's later steps.
        const live = forms[r.form]!;
        const replaced = new Set(route.method === 'GET' ? ['client_id'] : ['request']);
        const kept = params.filter(([name]) => !replaced.has(name) && name !== 'client_secret');
        params.length = 0;
        params.push(...kept, route.method === 'GET' ? ['client_id', 'shop-app'] : ['request', live.request]);
        headersOut.cookie = `tb_csrf=${live.csrf}`;
      } else if (route.path === '/oauth/authorize' && r.csrf !== null) {
        headersOut.cookie = `tb_csrf=${r.csrf}`;
      }
      let queryOut = r.otherQuery ?? '';
      let bodyOut: string | undefined = r.otherBody ?? undefined;
      if (inBody && r.otherBody === null) {
        bodyOut = r.json ? JSON.stringify(Object.fromEntries(params)) : encodePairs(params);
        headersOut['content-type'] = r.json ? 'application/json' : 'application/x-www-form-urlencoded';
      } else if (!inBody && r.otherQuery === null) {
        queryOut = params.length ? `?${encodePairs(params)}` : '';
      }
      return { method: r.method, path: route.path.replace('{tenant}', r.tenant), query: queryOut, headers: headersOut, body: bodyOut };
    });
});

const anything = fc.record({ method: fc.constantFrom(...METHODS) as fc.Arbitrary<string>, path, query, headers, body });

const fuzzRequest = fc.oneof({ weight: 3, arbitrary: routeDriven }, { weight: 2, arbitrary: anything });
type FuzzRequest = typeof fuzzRequest extends fc.Arbitrary<infer T> ? T : never;

// --- the property --------------------------------------------------------------------------------

const isObject = (value: unknown): value is Record<string, unknown> => !!value && typeof value === 'object' && !Array.isArray(value);
const keysOf = (value: Record<string, unknown>) => Object.keys(value).sort().join(',');

/** The path the broker sees: the target up to `?`, as sent (API Gateway's rawPath). */
function servedPath(target: string): string {
  const question = target.indexOf('?');
  return question === -1 ? target : target.slice(0, question);
}

/** What a success body must look like, per route (contract sections 1 to 4). */
function successProblem(method: string, served: string, status: number, body: Record<string, unknown>): string | undefined {
  const { match } = matchRoute(method, served);
  const route = match ? `${match.route.method} ${match.route.path}` : served === '/health' ? 'health' : 'none';
  const tokenBody = typeof body.access_token === 'string' && body.token_type === 'Bearer' && Number.isInteger(body.expires_in);
  const ok = (() => {
    switch (route) {
      case 'POST /oauth/token':
      case 'GET /customerlogin/auth/anonymous/login':
      case 'GET /customerlogin/auth/anonymous/refresh':
      case 'POST /customer/{tenant}/login':
      case 'GET /customer/{tenant}/refreshauthtoken':
        return tokenBody;
      case 'POST /oauth/introspect':
        return body.active === true
          ? typeof body.tenant === 'string' && typeof body.client_id === 'string'
          : keysOf(body) === 'active' && body.active === false;
      case 'POST /oauth/revoke':
        return keysOf(body) === '';
      case 'GET /.well-known/jwks.json':
        return Array.isArray(body.keys);
      case 'GET /.well-known/oauth-authorization-server':
        return typeof body.issuer === 'string' && typeof body.token_endpoint === 'string';
      case 'GET /openapi.json':
        return body.openapi === '3.1.0' && isObject(body.paths);
      case 'GET /customer/{tenant}/validateauthtoken':
        return body.token_type === 'Bearer' && typeof body.sessionId === 'string';
      case 'health':
        return body.status === 'ok';
      case 'POST /customer/{tenant}/signup':
        return status === 201 && keysOf(body) === 'id' && typeof body.id === 'string';
      default:
        return false;
    }
  })();
  return ok && (status === 200 || route === 'POST /customer/{tenant}/signup')
    ? undefined
    : `unexpected success answer ${status} on ${route}: ${JSON.stringify(body).slice(0, 200)}`;
}

/** Undefined when the answer is fine, else what is wrong with it. */
function violation(request: FuzzRequest, answer: RawAnswer): string | undefined {
  if (answer.status >= 500) return `status ${answer.status}`;
  if (answer.status < 200) return `status ${answer.status}`;
  if (answer.status === 204) {
    // Only a CORS preflight and a logout answer 204.
    const logout = /^\/customer\/[^/]+\/logout$/.test(servedPath(request.path + request.query));
    if (request.method !== 'OPTIONS' && !(request.method === 'GET' && logout)) return `204 on ${request.method}`;
  }
  // Signup's resend answers 202 with no body, whatever the email (contract section 11).
  if (answer.status === 202) {
    const resend = /^\/customer\/[^/]+\/signup\/optin\/refresh_token$/.test(servedPath(request.path + request.query));
    if (request.method !== 'POST' || !resend) return `202 on ${request.method} ${request.path}`;
    return answer.text === '' ? undefined : 'a body on a 202 answer';
  }
  if (request.method === 'HEAD' || answer.status === 204) {
    return answer.text === '' ? undefined : 'a body on a 204 or HEAD answer';
  }
  const pagePath = servedPath(request.path + request.query);
  const page =
    (pagePath === '/oauth/authorize' && ['GET', 'POST'].includes(request.method)) || (pagePath === '/docs' && request.method === 'GET');
  if (page) return pageProblem(answer);
  if (answer.headers['content-type'] !== 'application/json') return `content-type ${answer.headers['content-type']}`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(answer.text);
  } catch {
    return 'body is not JSON';
  }
  if (!isObject(parsed)) return 'body is not a JSON object';
  const served = servedPath(request.path + request.query);
  const oauth = served.startsWith('/oauth/') || served.startsWith('/.well-known/');
  if (answer.status < 300) return successProblem(request.method, served, answer.status, parsed);
  if (oauth) {
    if (keysOf(parsed) !== 'error,error_description') return `oauth error keys ${keysOf(parsed)}`;
    if (typeof parsed.error !== 'string' || typeof parsed.error_description !== 'string') return 'oauth error values not strings';
    return undefined;
  }
  if ('fault' in parsed) {
    if (answer.status !== 401) return `fault shape with status ${answer.status}`;
    const fault = parsed.fault;
    if (keysOf(parsed) !== 'fault' || !isObject(fault) || keysOf(fault) !== 'detail,faultstring') return 'malformed fault';
    if (typeof fault.faultstring !== 'string' || !isObject(fault.detail) || keysOf(fault.detail) !== 'errorcode') return 'malformed fault';
    if (typeof fault.detail.errorcode !== 'string') return 'malformed fault errorcode';
    return undefined;
  }
  if (keysOf(parsed) !== 'details,message,status,type') return `emporix error keys ${keysOf(parsed)}`;
  if (parsed.status !== answer.status) return `body status ${String(parsed.status)} != HTTP ${answer.status}`;
  if (typeof parsed.type !== 'string' || typeof parsed.message !== 'string' || !Array.isArray(parsed.details)) return 'emporix error types';
  for (const detail of parsed.details) {
    if (!isObject(detail) || keysOf(detail) !== 'field,message,type') return 'malformed details entry';
  }
  return undefined;
}

/**
 * The authorization endpoint answers people (contract section 8): a redirect, or the broker's
 * own HTML page with its security headers and nothing a request put there unescaped.
 */
function pageProblem(answer: RawAnswer): string | undefined {
  if (answer.status === 303) {
    const location = answer.headers.location;
    if (typeof location !== 'string' || !URL.canParse(location)) return `303 without a usable Location: ${String(location)}`;
    return answer.text === '' ? undefined : 'a body on a redirect';
  }
  if (![200, 400, 413, 429].includes(answer.status)) return `page status ${answer.status}`;
  if (answer.headers['content-type'] !== 'text/html; charset=utf-8') return `page content-type ${answer.headers['content-type']}`;
  if (!answer.text.startsWith('<!doctype html>')) return 'page is not an HTML document';
  if (/<script/i.test(answer.text)) return 'a script element in the page';
  const csp = String(answer.headers['content-security-policy']);
  if (!csp.includes("frame-ancestors 'none'") || csp.includes('unsafe-inline')) return `page CSP ${csp}`;
  return undefined;
}

describe(`fuzzing the HTTP surface: ${NUM_RUNS} cases`, () => {
  it(
    'never answers 5xx, and always answers JSON in the contract’s shapes',
    async () => {
      const statuses = new Histogram();
      const byRoute = new Histogram();
      let cases = 0;
      const property = fc.asyncProperty(fuzzRequest, async (request) => {
        cases++;
        const answer = await rawRequest(broker.url, {
          method: request.method,
          path: request.path + request.query,
          headers: request.headers,
          ...(request.body !== undefined ? { body: request.body } : {}),
        });
        statuses.add(answer.status);
        const { match } = matchRoute(request.method, servedPath(request.path + request.query));
        byRoute.add(`${match ? `${match.route.method} ${match.route.path}` : 'no route'} ${answer.status}`);
        if (answer.status === 200 && answer.text.startsWith('{')) {
          const issued = JSON.parse(answer.text) as Record<string, unknown>;
          remember(issued.access_token, issued.refresh_token);
        }
        const problem = violation(request, answer);
        if (problem) {
          throw new Error(`${problem}: ${request.method} ${request.path + request.query} -> ${answer.status} ${answer.text.slice(0, 300)}`);
        }
      });
      try {
        await fc.assert(property, { numRuns: NUM_RUNS, seed: SEED });
      } finally {
        console.log(
          JSON.stringify({
            reliability: 'fuzz',
            numRuns: NUM_RUNS,
            seed: SEED,
            casesExecuted: cases,
            statuses: statuses.toJSON(),
            byRoute: byRoute.toJSON(),
          }),
        );
      }
      expect(cases).toBeGreaterThanOrEqual(NUM_RUNS);
    },
    FULL ? 600_000 : 120_000,
  );

  // Found by this fuzzer: local mode's bridge builds `new URL(req.url, 'http://local')`, which
  // throws for these request targets, and its catch-all answers 500. Contract: "No response ever
  // has status 500 from bad input". Kept failing until the bridge is fixed (not fixed here).
  it('request targets the bridge cannot parse (//, ///, //%zz/ ...) are answered below 500, in JSON', async () => {
    const wrong: string[] = [];
    for (const target of ['//', '///', '//?', '//%zz/', '//:99999/x', '//[::1/x', '//a:b@/oauth/token']) {
      for (const method of ['GET', 'POST'] as const) {
        const answer = await rawRequest(broker.url, { method, path: target });
        const problem = violation({ method, path: target, query: '', headers: {}, body: undefined }, answer);
        if (problem) wrong.push(`${method} ${target} -> ${answer.status} ${answer.text} (${problem})`);
      }
    }
    expect(wrong).toEqual([]);
  });
});
