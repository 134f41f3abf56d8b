import { pkceChallenge } from '../../functions/domain/authorization.js';
import type { AppClient } from '../../functions/domain/tenant.js';
import type { TestBroker } from './local-broker.js';

/**
 * The authorization endpoint driven by hand, as a browser would (contract section 8): fetch with
 * manual redirects, the CSRF cookie carried by the test.
 */

export const VERIFIER = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
export const CHALLENGE = pkceChallenge(VERIFIER);

/** A public app client of tenant acme with a private-use scheme, two loopback and a web redirect URI. */
export const SHOP_APP: AppClient = {
  clientId: 'shop-app',
  tenant: 'acme',
  type: 'public',
  redirectUris: ['com.acme.shop:/callback', 'http://127.0.0.1/callback', 'http://[::1]/callback', 'https://shop.example/cb?from=app'],
  scopes: ['customer.customer_read_own', 'customer.profile'],
  accessTokenFormat: 'opaque',
};

/** The seed with SHOP_APP among tenant acme's `appClients` (shared/spec/operating.md). */
export function withShopApp<S extends { tenants: { acme: object } }>(seed: S): S {
  const { clientId, tenant: _tenant, type, redirectUris, scopes } = SHOP_APP;
  const acme = seed.tenants.acme as { appClients?: Record<string, unknown> };
  acme.appClients = { ...acme.appClients, [clientId]: { type, redirectUris, scopes } };
  return seed;
}

/** Puts an app client straight into the directory, for tests that share a broker with a fixed seed. */
export async function addAppClient(broker: TestBroker, client: AppClient = SHOP_APP): Promise<void> {
  await broker.deps.directory.putAppClient(client);
}

export function authorizeQuery(overrides: Record<string, string | undefined> = {}): URLSearchParams {
  const params: Record<string, string | undefined> = {
    response_type: 'code',
    client_id: SHOP_APP.clientId,
    redirect_uri: 'http://127.0.0.1:4567/callback',
    scope: 'customer.customer_read_own',
    state: 'state-123',
    code_challenge: CHALLENGE,
    code_challenge_method: 'S256',
    ...overrides,
  };
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value !== undefined) query.append(name, value);
  return query;
}

export interface SignInForm {
  status: number;
  headers: Headers;
  html: string;
  /** The hidden `request` field of the form. */
  request: string;
  /** The `tb_csrf` cookie's value. */
  csrf: string;
}

/** GET /oauth/authorize; the form's request token and the CSRF cookie when a page with a form came back. */
export async function openAuthorize(url: string, query: URLSearchParams | string): Promise<SignInForm> {
  const response = await fetch(`${url}/oauth/authorize?${query}`, { redirect: 'manual' });
  const html = await response.text();
  const cookie = response.headers.getSetCookie().find((c) => c.startsWith('tb_csrf='));
  return {
    status: response.status,
    headers: response.headers,
    html,
    request: /name="request" value="([^"]*)"/.exec(html)?.[1] ?? '',
    csrf: cookie ? cookie.slice('tb_csrf='.length).split(';')[0]! : '',
  };
}

/** POST /oauth/authorize as the page's form does; `cookie` overrides the Cookie header (undefined: none). */
export async function postSignIn(
  url: string,
  form: Record<string, string>,
  cookie: string | undefined,
): Promise<{ status: number; headers: Headers; html: string }> {
  const response = await fetch(`${url}/oauth/authorize`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(cookie === undefined ? {} : { cookie }) },
    body: new URLSearchParams(form).toString(),
  });
  return { status: response.status, headers: response.headers, html: await response.text() };
}

/** The form filled in and posted with its own cookie. */
export function signIn(url: string, form: SignInForm, email: string, password: string) {
  return postSignIn(url, { request: form.request, email, password }, `tb_csrf=${form.csrf}`);
}
