import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, TestClock, type TestBroker } from '../support/local-broker.js';

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
/** `react-scripts start`'s origin: the showcase calls the API cross-origin from the browser. */
const ORIGIN = 'http://localhost:3000';
/** axios 1.x's default Accept header, on every showcase request. */
const AXIOS_ACCEPT = 'application/json, text/plain, */*';

/** Inside the legacy field window at the test clock's start, ending 30 days later. */
const WINDOW_END = new Date((new TestClock().now + 30 * 86400) * 1000).toISOString().slice(0, 10);

function showcaseSeed() {
  return {
    tenants: {
      [TENANT]: {
        settings: { legacyTokenFieldsUntil: WINDOW_END },
        storefrontClients: [CLIENT_ID],
        customers: [{ email: EMAIL, password: PASSWORD, customerNumber: 'C-2001' }],
      },
    },
  };
}

let broker: TestBroker;

beforeAll(async () => {
  broker = await startTestBroker(showcaseSeed());
});

afterAll(() => broker.stop());

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
