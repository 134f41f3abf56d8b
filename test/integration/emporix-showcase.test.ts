import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, TestClock, type TestBroker } from '../support/local-broker.js';
import { startOidcProvider, type OidcProviderFixture } from '../support/oidc-provider.js';

/**
 * Issue 11 item 8: Emporix's public B2B showcase storefront (github.com/emporix/b2b-showcase,
 * read at 9623c6a, 2024-12-02; /work/notes/issue11-F3.md lists every call with file and line)
 * replayed against local mode, request by request, as its browser code sends them: axios 1.x
 * defaults (`Accept`), the browser's `Origin` and, for the non-simple requests, its CORS
 * preflight. Each test asserts what the showcase then reads from the answer, and nothing it
 * does not read.
 *
 * The showcase sends no refresh, validate or logout request (its logout only clears
 * localStorage; it starts a new anonymous session when its stored expiry passes), so there is
 * none to replay here; those routes are held by storefront-anonymous and storefront-customer.
 */

const TENANT = 'acme';
const CLIENT_ID = 'storefront-web';
const EMAIL = 'buyer@example.com';
const PASSWORD = 'showcase-pass-1';
/**
 * Where the showcase is served (it deploys to Firebase hosting, firebase.json): it calls the API
 * cross-origin from the browser. Not `react-scripts start`'s http://localhost:3000: the seed
 * refuses an http redirect URI other than 127.0.0.1 / [::1] (see /work/notes/issue11-F3.md).
 */
const ORIGIN = 'https://b2b-showcase.example';
/** axios 1.x's default Accept header, on every showcase request. */
const AXIOS_ACCEPT = 'application/json, text/plain, */*';

/** The showcase's Auth0 button sends the customer back to `${window.location.origin}/auth0` (Login.js:200). */
const SOCIAL_REDIRECT_URI = `${ORIGIN}/auth0`;

/** Inside the legacy field window at the test clock's start, ending 30 days later. */
const WINDOW_END = new Date((new TestClock().now + 30 * 86400) * 1000).toISOString().slice(0, 10);

function showcaseSeed(idp: OidcProviderFixture) {
  return {
    tenants: {
      [TENANT]: {
        settings: { legacyTokenFieldsUntil: WINDOW_END },
        storefrontClients: [CLIENT_ID],
        customers: [{ email: EMAIL, password: PASSWORD, customerNumber: 'C-2001' }],
        // The showcase names no `config`: its provider is the tenant's `default`, and with no
        // `redirect_uri` in the request the broker uses this one (contract section 10).
        identityProviders: {
          default: idp.seedEntry({ redirectUri: SOCIAL_REDIRECT_URI }),
        },
      },
    },
  };
}

let idp: OidcProviderFixture;
let broker: TestBroker;

beforeAll(async () => {
  // A real OpenID Connect provider standing in for the showcase's Auth0 tenant.
  idp = await startOidcProvider({ redirectUri: SOCIAL_REDIRECT_URI });
  broker = await startTestBroker(showcaseSeed(idp));
});

afterAll(async () => {
  await broker?.stop();
  await idp?.stop();
});

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, any>;
}

async function answer(response: Response): Promise<Answer> {
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : {} };
}

/**
 * src/services/user/accessToken.js:46-52 (through src/services/index.js:9-11):
 * `axios.get(`${API_URL}/customerlogin/auth/anonymous/login`, { headers: {}, params: { client_id, 'hybris-tenant' } })`.
 * A simple cross-origin GET: no preflight, the browser adds `Origin`.
 */
function showcaseAnonymousLogin(): Promise<Answer> {
  const query = new URLSearchParams({ client_id: CLIENT_ID, 'hybris-tenant': TENANT });
  return fetch(`${broker.url}/customerlogin/auth/anonymous/login?${query}`, {
    headers: { accept: AXIOS_ACCEPT, origin: ORIGIN },
  }).then(answer);
}

/** What the browser sends before a non-simple request, and what it needs back to go on. */
async function preflight(path: string, requestHeaders: string): Promise<void> {
  const response = await fetch(`${broker.url}${path}`, {
    method: 'OPTIONS',
    headers: { origin: ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': requestHeaders },
  });
  expect(response.status).toBeLessThan(300);
  const allowOrigin = response.headers.get('access-control-allow-origin');
  expect(allowOrigin === '*' || allowOrigin === ORIGIN).toBe(true);
  expect(response.headers.get('access-control-allow-methods')?.toUpperCase()).toContain('POST');
  const allowed = (response.headers.get('access-control-allow-headers') ?? '').toLowerCase().split(/\s*,\s*/);
  for (const name of requestHeaders.split(',')) expect(allowed).toContain(name);
}

/**
 * src/services/user/auth.service.js:63-77: `axios.post(`${API_URL}/customer/${tenant}/login`,
 * { email, password }, { headers: { 'Content-Type': 'application/json', Authorization: 'Bearer ' + anonymousToken } })`.
 */
async function showcaseLogin(anonymousToken: string): Promise<Answer> {
  const path = `/customer/${TENANT}/login`;
  await preflight(path, 'authorization,content-type');
  return fetch(`${broker.url}${path}`, {
    method: 'POST',
    headers: {
      accept: AXIOS_ACCEPT,
      'content-type': 'application/json',
      authorization: `Bearer ${anonymousToken}`,
      origin: ORIGIN,
    },
    body: JSON.stringify({ email: EMAIL, password: PASSWORD }),
  }).then(answer);
}

/**
 * src/pages/SocialLoginCallback.js:23-33 on the `api` instance (src/services/axios.js:5-21):
 * `api.post(`/customer/${tenant}/socialLogin`, null, { headers: { Authorization: `Bearer ${anonymousToken}` },
 * params: { code, anonymous_token: anonymousToken } })`. The interceptor sets Authorization to
 * `Bearer <localStorage accessToken>` (the anonymous token after a page load) and adds
 * Accept-Language and Content-Language (`en` by default). No body, so no Content-Type; no
 * redirect_uri, config, code_verifier or nonce.
 */
async function showcaseSocialLogin(code: string, anonymousToken: string): Promise<Answer> {
  const path = `/customer/${TENANT}/socialLogin`;
  // Accept-Language and Content-Language with a value like `en` are CORS-safelisted: only
  // authorization is preflighted.
  await preflight(path, 'authorization');
  const query = new URLSearchParams({ code, anonymous_token: anonymousToken });
  return fetch(`${broker.url}${path}?${query}`, {
    method: 'POST',
    headers: {
      accept: AXIOS_ACCEPT,
      authorization: `Bearer ${anonymousToken}`,
      'accept-language': 'en',
      'content-language': 'en',
      origin: ORIGIN,
    },
  }).then(answer);
}

/** The browser hands a cross-origin answer's headers to the page only when they are exposed. */
function exposed(headers: Headers): string[] {
  return (headers.get('access-control-expose-headers') ?? '').toLowerCase().split(/\s*,\s*/);
}

describe('the Emporix B2B showcase against the broker', () => {
  it('starts a session with its very first call, the anonymous login with hybris-tenant', async () => {
    const { status, headers, body } = await showcaseAnonymousLogin();
    expect(status).toBe(200);
    expect(headers.get('access-control-allow-origin')).toBe('*');
    // accessToken.js:53-59 reads access_token, expires_in (now + expires_in * 1000) and sessionId.
    expect(body.access_token).toEqual(expect.stringMatching(/^[A-Za-z0-9_-]{43,}$/));
    expect(body.expires_in).toBe(3599);
    expect(body.sessionId).toEqual(expect.stringMatching(/^[0-9a-f-]{36}$/));
    expect(body.scope).toBe(`tenant=${TENANT}`);
  });

  it('logs the customer in and answers the camelCase fields its login reads, inside the legacy window', async () => {
    const anonymous = (await showcaseAnonymousLogin()).body;
    const { status, headers, body } = await showcaseLogin(anonymous.access_token);
    expect(status).toBe(200);
    expect(headers.get('access-control-allow-origin')).toBe('*');
    // auth.service.js:83-93 reads data.accessToken (its only test of success), data.saasToken and
    // data.expiresIn (now + expiresIn * 1000), then sends accessToken as the Bearer of /me and /iam.
    expect(typeof body.accessToken).toBe('string');
    expect(body.accessToken).toBe(body.access_token);
    expect(body.saasToken).toEqual(expect.stringMatching(/^eyJ[\w-]+\.[\w-]+\.[\w-]+$/));
    expect(body.saasToken).toBe(body.saas_token);
    expect(body.expiresIn).toBe(14399);
    // The window is announced, and the browser lets the page see the announcement.
    expect(headers.get('deprecation')).toMatch(/^@\d+$/);
    expect(headers.get('sunset')).toBe(new Date(`${WINDOW_END}T00:00:00Z`).toUTCString());
    expect(exposed(headers)).toEqual(expect.arrayContaining(['deprecation', 'sunset']));
    // The showcase keeps the anonymous sessionId (accessToken.js:58) for its carts: still the session's.
    expect(body.session_id).toBe(anonymous.sessionId);
  });

  it('gives a customer token that the broker accepts as the session’s Bearer', async () => {
    // The showcase sends data.accessToken on to other Emporix services (auth.service.js:95-103,
    // 146-155); they validate it at the broker (contract section 2).
    const anonymous = (await showcaseAnonymousLogin()).body;
    const login = (await showcaseLogin(anonymous.access_token)).body;
    const validated = await fetch(`${broker.url}/customer/${TENANT}/validateauthtoken`, {
      headers: { authorization: `Bearer ${login.accessToken}` },
    }).then(answer);
    expect(validated.status).toBe(200);
    expect(validated.body).toMatchObject({ email: EMAIL, sessionId: anonymous.sessionId });
  });

  it('signs the customer in through its social-login callback, with code and anonymous_token and no redirect_uri', async () => {
    const anonymous = (await showcaseAnonymousLogin()).body;
    // The customer signs in at the provider, which sends the browser back to /auth0?code=...
    const code = await idp.getCode({ login: 'cid', redirectUri: SOCIAL_REDIRECT_URI });
    const { status, headers, body } = await showcaseSocialLogin(code, anonymous.access_token);
    expect(status).toBe(200);
    expect(headers.get('access-control-allow-origin')).toBe('*');
    // SocialLoginCallback.js:35-43 reads access_token and saas_token (and `expired_in`, a field
    // that exists nowhere: the showcase's typo, not ours to answer).
    expect(body.access_token).toEqual(expect.stringMatching(/^[A-Za-z0-9_-]{43,}$/));
    expect(body.saas_token).toEqual(expect.stringMatching(/^eyJ[\w-]+\.[\w-]+\.[\w-]+$/));
    expect(JSON.parse(Buffer.from(body.saas_token.split('.')[1], 'base64url').toString())).toMatchObject({
      tenant: TENANT,
      email: 'cid@example.com',
      sessionId: anonymous.sessionId,
    });
    expect(body.session_id).toBe(anonymous.sessionId);
    // It then uses access_token as the customer's Bearer (auth.service.js:95-103).
    const validated = await fetch(`${broker.url}/customer/${TENANT}/validateauthtoken`, {
      headers: { authorization: `Bearer ${body.access_token}` },
    }).then(answer);
    expect(validated.status).toBe(200);
    expect(validated.body.email).toBe('cid@example.com');
    // The callback page is reloaded or revisited with the same code: refused, not a second session.
    const replayed = await showcaseSocialLogin(code, anonymous.access_token);
    expect(replayed.status).toBe(401);
  });

  // Last: it moves the clock past the window.
  it('stops sending the camelCase fields after the window, so the showcase’s login then finds no accessToken', async () => {
    broker.clock.advance(31 * 86400);
    const anonymous = await showcaseAnonymousLogin();
    expect(anonymous.status).toBe(200);
    const { status, headers, body } = await showcaseLogin(anonymous.body.access_token);
    expect(status).toBe(200);
    expect(body).not.toHaveProperty('accessToken');
    expect(body).not.toHaveProperty('saasToken');
    expect(body).not.toHaveProperty('expiresIn');
    expect(headers.get('deprecation')).toBeNull();
    expect(headers.get('sunset')).toBeNull();
  });
});
