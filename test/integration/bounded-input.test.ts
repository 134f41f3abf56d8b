import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basic, postForm, startTestBroker, type TestBroker } from '../support/local-broker.js';
import { TEST_SECRETS } from '../support/seed.js';
import { Storefront } from '../support/storefront.js';

/**
 * Contract conventions: every identifier from a request is bounded before it reaches storage,
 * and an over-long one is a 4xx in the route's shape, never a 500 and never a logged stack trace.
 */

let broker: TestBroker;
let storefront: Storefront;
let refreshToken: string;

beforeAll(async () => {
  broker = await startTestBroker();
  storefront = new Storefront(broker.url);
  refreshToken = (await storefront.customer()).login.refresh_token;
});

afterAll(() => broker.stop());

const LONG = 'a'.repeat(1100);
const LONG_TOKEN = 'A'.repeat(1100);
const reports = { id: 'reports-svc', secret: TEST_SECRETS.reports };

type Shape = 'oauth' | 'emporix';
interface Case {
  name: string;
  shape: Shape;
  /** The status the route gives: a 4xx, or 200 where the RFC says so (inactive, revoked). */
  status: number;
  send: () => Promise<Response>;
}

const token = (form: Record<string, string>, headers: Record<string, string> = {}) => postForm(`${broker.url}/oauth/token`, form, headers);
const get = (path: string, query: Record<string, string>, headers: Record<string, string> = {}) =>
  fetch(`${broker.url}${path}?${new URLSearchParams(query)}`, { headers });

const cases: Case[] = [
  {
    name: 'a 1,100-character client_id in the form',
    shape: 'oauth',
    status: 400,
    send: () => token({ grant_type: 'client_credentials', client_id: LONG, client_secret: 'whatever-secret' }),
  },
  {
    name: 'a 1,100-character client_id by Basic',
    shape: 'oauth',
    status: 400,
    send: () => token({ grant_type: 'client_credentials' }, { authorization: basic(LONG, 'whatever-secret') }),
  },
  {
    name: 'a 1,100-character client_id by Basic at introspection',
    shape: 'oauth',
    status: 400,
    send: () => postForm(`${broker.url}/oauth/introspect`, { token: 'x' }, { authorization: basic(LONG, 'whatever-secret') }),
  },
  {
    name: 'a 1,100-character client_id by Basic at revocation',
    shape: 'oauth',
    status: 400,
    send: () => postForm(`${broker.url}/oauth/revoke`, { token: 'x' }, { authorization: basic(LONG, 'whatever-secret') }),
  },
  {
    name: 'an over-long client_secret',
    shape: 'oauth',
    status: 400,
    send: () => token({ grant_type: 'client_credentials', client_id: reports.id, client_secret: 's'.repeat(1100) }),
  },
  {
    name: 'a 1,100-character scope string',
    shape: 'oauth',
    status: 400,
    send: () => token({ grant_type: 'client_credentials', client_id: reports.id, client_secret: reports.secret, scope: LONG }),
  },
  {
    name: 'a 1,100-character tenant on the token endpoint',
    shape: 'oauth',
    status: 400,
    send: () =>
      postForm(`${broker.url}/oauth/token?tenant=${LONG}`, {
        grant_type: 'client_credentials',
        client_id: reports.id,
        client_secret: reports.secret,
      }),
  },
  {
    name: 'a 1,100-character token at introspection (inactive)',
    shape: 'oauth',
    status: 200,
    send: () => postForm(`${broker.url}/oauth/introspect`, { token: LONG_TOKEN }, { authorization: basic(reports.id, reports.secret) }),
  },
  {
    name: 'a 1,100-character token at revocation (RFC 7009: 200)',
    shape: 'oauth',
    status: 200,
    send: () => postForm(`${broker.url}/oauth/revoke`, { token: LONG_TOKEN }, { authorization: basic(reports.id, reports.secret) }),
  },
  {
    name: 'a 1,100-character storefront client_id',
    shape: 'emporix',
    status: 400,
    send: () => get('/customerlogin/auth/anonymous/login', { tenant: 'acme', client_id: LONG }),
  },
  {
    name: 'a 1,100-character tenant in the query',
    shape: 'emporix',
    status: 400,
    send: () => get('/customerlogin/auth/anonymous/login', { tenant: LONG, client_id: 'storefront-web' }),
  },
  {
    name: 'a 1,100-character hybris-tenant on anonymous login',
    shape: 'emporix',
    status: 400,
    send: () => get('/customerlogin/auth/anonymous/login', { 'hybris-tenant': LONG, client_id: 'storefront-web' }),
  },
  {
    name: 'a 1,100-character hybris-tenant on anonymous refresh',
    shape: 'emporix',
    status: 400,
    send: () => get('/customerlogin/auth/anonymous/refresh', { 'hybris-tenant': LONG, client_id: 'storefront-web', refresh_token: 'x' }),
  },
  {
    name: 'a 1,100-character tenant in the path',
    shape: 'emporix',
    status: 400,
    send: () => get(`/customer/${LONG}/validateauthtoken`, {}, { authorization: 'Bearer x' }),
  },
  {
    name: 'a 1,100-character anonymous refresh_token in the query',
    shape: 'emporix',
    status: 401,
    send: () => get('/customerlogin/auth/anonymous/refresh', { tenant: 'acme', client_id: 'storefront-web', refresh_token: LONG_TOKEN }),
  },
  {
    name: 'a 1,100-character anonymous_token in the query',
    shape: 'emporix',
    status: 401,
    send: () => get('/customerlogin/auth/anonymous/refresh', { tenant: 'acme', client_id: 'storefront-web', anonymous_token: LONG_TOKEN }),
  },
  {
    name: 'a 1,100-character customer refreshToken in the query',
    shape: 'emporix',
    status: 401,
    send: () => get('/customer/acme/refreshauthtoken', { refreshToken: LONG_TOKEN }),
  },
  {
    name: 'a 1,100-character legalEntityId',
    shape: 'emporix',
    status: 400,
    send: () => get('/customer/acme/refreshauthtoken', { refreshToken, legalEntityId: LONG }),
  },
  {
    name: 'a 1,100-character email at login',
    shape: 'emporix',
    status: 400,
    send: () =>
      fetch(`${broker.url}/customer/acme/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: `${LONG}@example.com`, password: 'correct-horse' }),
      }),
  },
  {
    name: 'a 1,100-character bearer token at validation',
    shape: 'emporix',
    status: 401,
    send: () => get('/customer/acme/validateauthtoken', {}, { authorization: `Bearer ${LONG_TOKEN}` }),
  },
  {
    name: 'a 1,100-character accessToken at logout',
    shape: 'emporix',
    status: 401,
    send: () => get('/customer/acme/logout', { accessToken: LONG_TOKEN }),
  },
];

describe('an over-long identifier', () => {
  it.each(cases)('$name: the route’s 4xx, no 500, no stack trace logged', async ({ send, status, shape }) => {
    const before = broker.logLines.length;
    const response = await send();
    const body = (await response.json()) as Record<string, unknown>;
    expect(response.status).toBe(status);
    if (status >= 400 && shape === 'oauth') expect(Object.keys(body).sort()).toEqual(['error', 'error_description']);
    if (status === 400 && shape === 'emporix') expect(body).toMatchObject({ status: 400, type: 'bad_request' });
    const logged = broker.logLines.slice(before).join('\n');
    expect(logged).not.toMatch(/unexpected error|"stack"|"level":"error"/);
  });
});
