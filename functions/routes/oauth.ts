import { isCodeVerifier } from '../domain/authorization.js';
import { InvalidClient, InvalidRequest, UnauthorizedClient, UnsupportedGrantType } from '../domain/errors.js';
import { serviceTokenBody } from '../domain/service-token.js';
import { GRANT_TYPES_OF, isValidTenant, type ServiceClient } from '../domain/tenant.js';
import { clientCredentials, presentedClient } from '../http/client-auth.js';
import { bodyParams, bounded, invalidTenant, queryParam, type Params } from '../http/params.js';
import type { HttpRequest, RouteHandlers } from '../http/types.js';
import {
  auditWrongTenant,
  authenticateClient,
  authenticateServiceClient,
  type AuthenticatedClient,
} from '../use-cases/authenticate-client.js';
import type { OAuthDeps } from '../use-cases/deps.js';
import { grantTokenBody, redeemAuthorizationCode, refreshGrant } from '../use-cases/grants.js';
import { issueServiceToken } from '../use-cases/service-tokens.js';
import { introspect } from '../use-cases/introspection.js';
import { revoke, revokeOwnGrant } from '../use-cases/revocation.js';

/** The grant types `/oauth/token` serves (contract section 5); any other is unsupported_grant_type. */
const GRANT_TYPES = new Set<string>([...GRANT_TYPES_OF.service, ...GRANT_TYPES_OF.app]);

/** `/oauth/*`: the token endpoint (contract 3 and 5), introspection and revocation (contract 4). */
export function oauthRoutes(deps: OAuthDeps): RouteHandlers {
  /** A service client, authenticated with its secret, of the tenant the request names (if it names one). */
  async function authenticatedCaller(request: HttpRequest, params: Params): Promise<ServiceClient> {
    const client = await authenticateServiceClient(deps, clientCredentials(request, params));
    checkTenant(request, client);
    return client;
  }

  /** Any client: a service client, a confidential app client (secret) or a public one (client_id alone). */
  async function authenticatedClient(request: HttpRequest, params: Params): Promise<AuthenticatedClient> {
    const authenticated = await authenticateClient(deps, presentedClient(request, params));
    checkTenant(request, authenticated.client);
    return authenticated;
  }

  function checkTenant(request: HttpRequest, client: { tenant: string; clientId: string }): void {
    const tenant = tenantParam(request);
    if (tenant !== undefined && tenant !== client.tenant) {
      auditWrongTenant(deps, client, tenant);
      throw new InvalidClient('client is not registered for this tenant', request.headers.authorization !== undefined);
    }
  }

  return {
    'POST /oauth/token': async (request) => {
      const params = bodyParams(request);
      const grantType = params.grant_type;
      if (grantType === undefined) throw new InvalidRequest('grant_type is required');
      if (!GRANT_TYPES.has(grantType)) throw new UnsupportedGrantType(grantType);
      const caller = await authenticatedClient(request, params);
      // RFC 6749 section 5.2: a client may use only the grant types it is registered for.
      if (!(GRANT_TYPES_OF[caller.kind] as readonly string[]).includes(grantType)) throw new UnauthorizedClient(grantType);

      if (caller.kind === 'service') {
        const grant = await issueServiceToken(deps, caller.client, params.scope);
        return { status: 200, body: serviceTokenBody(grant, caller.client.profile) };
      }
      if (grantType === 'authorization_code') {
        const codeVerifier = required(params, 'code_verifier');
        // RFC 7636 section 4.1: 43 to 128 unreserved characters (so it is bounded, too).
        if (!isCodeVerifier(codeVerifier)) throw new InvalidRequest('code_verifier must be 43 to 128 characters of [A-Z a-z 0-9 - . _ ~]');
        const tokens = await redeemAuthorizationCode(deps, caller.client, {
          // A code is a token: parseToken refuses anything but its exact length and alphabet.
          code: required(params, 'code'),
          redirectUri: bounded('redirectUri', 'redirect_uri', required(params, 'redirect_uri')),
          codeVerifier,
        });
        return { status: 200, body: grantTokenBody(tokens) };
      }
      const tokens = await refreshGrant(deps, caller.client, { refreshToken: required(params, 'refresh_token'), scope: params.scope });
      return { status: 200, body: grantTokenBody(tokens) };
    },

    'POST /oauth/introspect': async (request) => {
      const params = bodyParams(request);
      const caller = await authenticatedCaller(request, params);
      return { status: 200, body: await introspect(deps, caller, requiredToken(params)) };
    },

    'POST /oauth/revoke': async (request) => {
      const params = bodyParams(request);
      // RFC 7009 section 2.1: an app client (a public one by its client_id) revokes its own grant's tokens.
      const caller = await authenticatedClient(request, params);
      const token = requiredToken(params);
      if (caller.kind === 'service') await revoke(deps, caller.client, token);
      else await revokeOwnGrant(deps, caller.client, token);
      // RFC 7009 section 2.2: 200 whether or not the token was known.
      return { status: 200, body: {} };
    },
  };
}

function required(params: Params, name: string): string {
  const value = params[name];
  if (value === undefined) throw new InvalidRequest(`${name} is required`);
  return value;
}

function requiredToken(params: Params): string {
  return required(params, 'token');
}

/** The optional `tenant` query parameter; a malformed one is refused before storage is touched. */
function tenantParam(request: HttpRequest): string | undefined {
  const tenant = queryParam(request, 'tenant');
  if (tenant !== undefined && !isValidTenant(tenant)) throw invalidTenant(tenant);
  return tenant;
}
