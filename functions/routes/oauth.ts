import { InvalidClient, InvalidRequest, UnsupportedGrantType } from '../domain/errors.js';
import { serviceTokenBody } from '../domain/service-token.js';
import { isValidTenant, type ServiceClient } from '../domain/tenant.js';
import { clientCredentials } from '../http/client-auth.js';
import { bodyParams, invalidTenant, queryParam, type Params } from '../http/params.js';
import type { HttpRequest, RouteHandlers } from '../http/types.js';
import { auditWrongTenant, authenticateServiceClient } from '../use-cases/authenticate-client.js';
import type { OAuthDeps } from '../use-cases/deps.js';
import { issueServiceToken } from '../use-cases/service-tokens.js';
import { introspect } from '../use-cases/introspection.js';
import { revoke } from '../use-cases/revocation.js';

/** `/oauth/*`: the token endpoint (contract 3 and 5), introspection and revocation (contract 4). */
export function oauthRoutes(deps: OAuthDeps): RouteHandlers {
  async function authenticatedCaller(request: HttpRequest, params: Params): Promise<ServiceClient> {
    const tenant = tenantParam(request);
    const client = await authenticateServiceClient(deps, clientCredentials(request, params));
    if (tenant !== undefined && tenant !== client.tenant) {
      auditWrongTenant(deps, client, tenant);
      throw new InvalidClient('client is not registered for this tenant', request.headers.authorization !== undefined);
    }
    return client;
  }

  return {
    'POST /oauth/token': async (request) => {
      const params = bodyParams(request);
      const grantType = params.grant_type;
      if (grantType === undefined) throw new InvalidRequest('grant_type is required');
      if (grantType !== 'client_credentials') {
        throw new UnsupportedGrantType(grantType);
      }
      const client = await authenticatedCaller(request, params);
      const grant = await issueServiceToken(deps, client, params.scope);
      return { status: 200, body: serviceTokenBody(grant, client.profile) };
    },

    'POST /oauth/introspect': async (request) => {
      const params = bodyParams(request);
      const caller = await authenticatedCaller(request, params);
      return { status: 200, body: await introspect(deps, caller, requiredToken(params)) };
    },

    'POST /oauth/revoke': async (request) => {
      const params = bodyParams(request);
      const caller = await authenticatedCaller(request, params);
      await revoke(deps, caller, requiredToken(params));
      // RFC 7009 section 2.2: 200 whether or not the token was known.
      return { status: 200, body: {} };
    },
  };
}

function requiredToken(params: Params): string {
  const token = params.token;
  if (token === undefined) throw new InvalidRequest('token is required');
  return token;
}

/** The optional `tenant` query parameter; a malformed one is refused before storage is touched. */
function tenantParam(request: HttpRequest): string | undefined {
  const tenant = queryParam(request, 'tenant');
  if (tenant !== undefined && !isValidTenant(tenant)) throw invalidTenant(tenant);
  return tenant;
}
