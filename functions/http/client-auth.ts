import { InvalidClient, InvalidRequest } from '../domain/errors.js';
import type { ClientCredentials, PresentedClient } from '../use-cases/authenticate-client.js';
import { bounded, type Params } from './params.js';
import type { HttpRequest } from './types.js';

/**
 * Client credentials from `client_secret_basic` or `client_secret_post` (RFC 6749 section 2.3.1).
 * A client must use one method only (section 2.3), and never the query string.
 */
export function clientCredentials(request: HttpRequest, params: Params): ClientCredentials {
  const credentials = presentedCredentials(request, params);
  // Bounded before the directory or the secrets are asked: an over-long id is no DynamoDB key.
  bounded('clientId', 'client_id', credentials.clientId);
  bounded('clientSecret', 'client_secret', credentials.clientSecret);
  return credentials;
}

/**
 * The client at the token endpoint and at revocation: as `clientCredentials`, or a public app
 * client that names itself by `client_id` in the body alone (RFC 6749 section 2.3 and 3.2.1,
 * auth method `none`; RFC 7636 makes PKCE its proof). Whether that client may go without a
 * secret is the directory's to say (use-cases/authenticate-client.ts).
 */
export function presentedClient(request: HttpRequest, params: Params): PresentedClient {
  const basic = request.headers.authorization !== undefined && /^basic(\s|$)/i.test(request.headers.authorization);
  if (basic || params.client_secret !== undefined || request.query.has('client_secret')) return clientCredentials(request, params);
  if (params.client_id === undefined) throw new InvalidClient('client authentication required', false);
  return { clientId: bounded('clientId', 'client_id', params.client_id), usedBasic: false };
}

function presentedCredentials(request: HttpRequest, params: Params): ClientCredentials {
  if (request.query.has('client_secret')) {
    throw new InvalidRequest('client_secret must not be sent in the query string');
  }
  const authorization = request.headers.authorization;
  // `Basic` with nothing after it (clients trim the space) is still a Basic attempt.
  if (authorization !== undefined && /^basic(\s|$)/i.test(authorization)) {
    if (params.client_secret !== undefined) {
      throw new InvalidRequest('use one client authentication method, not Basic and client_secret together');
    }
    const basic = decodeBasic(authorization.slice(5).trim());
    if (params.client_id !== undefined && params.client_id !== basic.clientId) {
      throw new InvalidRequest('client_id in the body differs from the authenticated client');
    }
    return basic;
  }
  if (params.client_id === undefined || params.client_secret === undefined) {
    throw new InvalidClient('client authentication required', false);
  }
  return { clientId: params.client_id, clientSecret: params.client_secret, usedBasic: false };
}

/** RFC 6749 section 2.3.1: id and secret are form-urlencoded before they are joined by a colon. */
function decodeBasic(encoded: string): ClientCredentials {
  const fail = () => new InvalidClient('malformed Basic credentials', true);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) throw fail();
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) throw fail();
  try {
    const clientId = formDecode(decoded.slice(0, colon));
    const clientSecret = formDecode(decoded.slice(colon + 1));
    if (clientSecret === '') throw fail();
    return { clientId, clientSecret, usedBasic: true };
  } catch {
    throw fail();
  }
}

function formDecode(value: string): string {
  return decodeURIComponent(value.replace(/\+/g, ' '));
}
