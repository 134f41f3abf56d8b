import type { AppClient } from '../../functions/domain/tenant.js';
import type { LocalBroker } from '../../functions/local/broker.js';
import { testSeed } from './seed.js';

/** App clients for the grant tests, in the test seed's tenants, and a way to get a code. */

export const APP_SECRETS = {
  partner: 'partner-web-secret-0001',
  /** A secret left in the document for the public mobile app (say, from when it was confidential). */
  staleMobile: 'mobile-app-stale-secret-0001',
};

export const APP_CLIENTS: Record<'mobile' | 'spa' | 'partner' | 'globex' | 'jwt', AppClient> = {
  /** A native app (RFC 8252): a private-use scheme and a loopback redirect on any port. */
  mobile: {
    clientId: 'mobile-app',
    tenant: 'acme',
    type: 'public',
    redirectUris: ['com.example.app:/callback', 'http://127.0.0.1/callback'],
    scopes: ['order.read', 'profile'],
    accessTokenFormat: 'opaque',
  },
  /** Another public client of the same tenant: codes and refresh tokens of one are not the other's. */
  spa: {
    clientId: 'shop-spa',
    tenant: 'acme',
    type: 'public',
    redirectUris: ['https://shop.example/callback'],
    scopes: ['order.read', 'profile'],
    accessTokenFormat: 'opaque',
  },
  /** A partner site with a back end: confidential, its secret beside the service clients'. */
  partner: {
    clientId: 'partner-web',
    tenant: 'acme',
    type: 'confidential',
    redirectUris: ['https://partner.example/oauth/callback'],
    scopes: ['order.read', 'profile'],
    accessTokenFormat: 'opaque',
  },
  /** A public client whose access tokens are RFC 9068 JWTs for one downstream API (contract section 9). */
  jwt: {
    clientId: 'jwt-app',
    tenant: 'acme',
    type: 'public',
    redirectUris: ['https://orders-app.example/callback'],
    scopes: ['order.read', 'profile'],
    accessTokenFormat: 'jwt',
    audience: 'https://orders.api.example',
  },
  globex: {
    clientId: 'globex-app',
    tenant: 'globex',
    type: 'public',
    redirectUris: ['https://globex.example/callback'],
    scopes: ['profile'],
    accessTokenFormat: 'opaque',
  },
};

/** The test seed's customer of `acme`. */
export const ANN = { customerNumber: 'C-1001', email: 'ann@example.com', legalEntities: ['LE-1', 'LE-2'] };

/** The test seed with the app clients above: acme's four, globex's one, the partner's secret. */
export function grantSeed() {
  const seed = testSeed();
  const entry = ({ type, redirectUris, scopes, accessTokenFormat, audience }: AppClient) => ({
    type,
    redirectUris,
    scopes,
    accessTokenFormat,
    ...(audience ? { audience } : {}),
  });
  const { mobile, spa, partner, globex, jwt } = APP_CLIENTS;
  return {
    tenants: {
      acme: {
        ...seed.tenants.acme,
        appClients: {
          [mobile.clientId]: entry(mobile),
          [spa.clientId]: entry(spa),
          [partner.clientId]: { ...entry(partner), secret: APP_SECRETS.partner },
          [jwt.clientId]: entry(jwt),
        },
      },
      globex: { ...seed.tenants.globex, appClients: { [globex.clientId]: entry(globex) } },
    },
  };
}

/**
 * A secret left in the client-secrets document for the public mobile app, as if it had once been
 * confidential (the seed refuses a secret for a public client, so it is written here). Call it
 * before anything has read the document: the broker holds what it read for a few seconds.
 */
export async function putStaleMobileSecret(secrets: {
  currentClientSecrets(): Promise<Record<string, unknown>>;
  putClientSecrets(document: any): Promise<void>;
}): Promise<void> {
  await secrets.putClientSecrets({ ...(await secrets.currentClientSecrets()), [APP_CLIENTS.mobile.clientId]: APP_SECRETS.staleMobile });
}

export interface CodeRequest {
  client: AppClient;
  redirectUri: string;
  codeChallenge: string;
  state?: string;
  /** The granted scopes; the client's when absent. */
  scopes?: string[];
}

/**
 * A code the way a customer gets one (contract section 8; helper P's sign-in page): `GET
 * /oauth/authorize` answers the form and the `tb_csrf` cookie, the form is posted back with the
 * customer's email and password and that cookie, and the 303's Location is the callback URL (with
 * `code`, `state` and RFC 9207 `iss`). Redirects are not followed: the app's URI may not resolve.
 */
export async function codeThroughSignIn(
  broker: Pick<LocalBroker, 'url'>,
  request: CodeRequest,
  credentials = { email: ANN.email, password: 'correct-horse' },
): Promise<URL> {
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: request.client.clientId,
    redirect_uri: request.redirectUri,
    code_challenge: request.codeChallenge,
    code_challenge_method: 'S256',
  });
  if (request.scopes) query.set('scope', request.scopes.join(' '));
  if (request.state !== undefined) query.set('state', request.state);
  const page = await fetch(`${broker.url}/oauth/authorize?${query}`, { redirect: 'manual' });
  const html = await page.text();
  if (page.status !== 200) throw new Error(`GET /oauth/authorize answered ${page.status}`);
  const requestToken = /name="request" value="([^"]*)"/.exec(html)?.[1];
  const cookie = page.headers.getSetCookie().find((c) => c.startsWith('tb_csrf='));
  if (!requestToken || !cookie) throw new Error('the sign-in page has no request token or no CSRF cookie');
  const posted = await fetch(`${broker.url}/oauth/authorize`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: cookie.split(';')[0]! },
    body: new URLSearchParams({ request: requestToken, ...credentials }).toString(),
  });
  await posted.arrayBuffer();
  const location = posted.headers.get('location');
  if (posted.status !== 303 || !location) throw new Error(`POST /oauth/authorize answered ${posted.status}`);
  return new URL(location);
}
