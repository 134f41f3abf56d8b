import { InvalidRequest, InvalidToken, type FieldProblem } from '../domain/errors.js';
import { legalEntityOf, type SessionContext } from '../domain/refresh-family.js';
import { anonymousBody, CAMEL_CASE_REMOVED_AT, customerLoginBody, customerRefreshBody } from '../domain/storefront-responses.js';
import { isValidTenant } from '../domain/tenant.js';
import { MAX_LENGTH } from '../domain/identifiers.js';
import { bearerToken, legacy, tenantFrom } from '../http/emporix.js';
import { bodyParams, bounded, queryParam } from '../http/params.js';
import type { HttpRequest, RouteHandlers } from '../http/types.js';
import { customerLogin } from '../use-cases/customer-login.js';
import type { StorefrontDeps } from '../use-cases/deps.js';
import { anonymousLogin, authenticateSession, logout, refreshSession, renewAnonymousAccess } from '../use-cases/sessions.js';

/** Storefront (Emporix) routes: contract sections 1 and 2. */
/** `issuer`: the configured one (functions/config.ts), the `iss` of every saas_token. */
export function storefrontRoutes(deps: StorefrontDeps, options: { issuer: string }): RouteHandlers {
  return {
    'GET /customerlogin/auth/anonymous/login': async (request) => {
      const tenant = anonymousTenant(request);
      const clientId = bounded('clientId', 'client_id', required(request, 'client_id'));
      const result = await anonymousLogin(deps, { tenant, clientId, context: sessionContext(request) });
      return { status: 200, body: anonymousBody(result.pair, result.sessionId, tenant) };
    },

    'GET /customerlogin/auth/anonymous/refresh': async (request) => {
      const tenant = anonymousTenant(request);
      const clientId = bounded('clientId', 'client_id', required(request, 'client_id'));
      const refreshToken = queryParam(request, 'refresh_token');
      const anonymousToken = queryParam(request, 'anonymous_token');
      if (refreshToken === undefined && anonymousToken !== undefined) {
        const renewed = await renewAnonymousAccess(deps, { tenant, clientId, anonymousToken });
        const {
          refresh_token: _r,
          refresh_token_expires_in: _e,
          ...body
        } = anonymousBody(
          { accessToken: renewed.accessToken, accessExpiresIn: renewed.expiresIn, refreshToken: '', refreshExpiresIn: 0 },
          renewed.sessionId,
          tenant,
        );
        // RFC 9745: the anonymous_token form is deprecated in favour of refresh_token.
        return { status: 200, headers: { Deprecation: `@${CAMEL_CASE_REMOVED_AT}` }, body };
      }
      if (refreshToken === undefined) throw missing('refresh_token');
      const result = await refreshSession(deps, { tenant, kind: 'anonymous', clientId, refreshToken });
      return { status: 200, body: anonymousBody(result.pair, result.sessionId, tenant) };
    },

    'POST /customer/{tenant}/login': async (request) => {
      const tenant = tenantFrom(request.pathParameters.tenant);
      const { email, password } = credentials(request);
      const result = await customerLogin(deps, {
        tenant,
        bearer: bearerToken(request),
        email,
        password,
        issuer: options.issuer,
      });
      const body = customerLoginBody(result.pair, result.saasToken, result.sessionId, result.initialPassword);
      return legacy(body, result.tenant.settings.legacyTokenFieldsUntil, deps.clock());
    },

    'GET /customer/{tenant}/refreshauthtoken': async (request) => {
      const tenant = tenantFrom(request.pathParameters.tenant);
      const refreshToken = required(request, 'refreshToken');
      const legalEntityId = optionalBounded(request, 'legalEntityId', 'legalEntityId');
      // The Authorization header may carry an expired token: the refresh token is the credential.
      const result = await refreshSession(deps, {
        tenant,
        kind: 'customer',
        refreshToken,
        ...(legalEntityId !== undefined ? { legalEntityId } : {}),
      });
      return legacy(customerRefreshBody(result.pair, result.sessionId), result.tenant.settings.legacyTokenFieldsUntil, deps.clock());
    },

    'GET /customer/{tenant}/validateauthtoken': async (request) => {
      const tenant = tenantFrom(request.pathParameters.tenant);
      const { family, expiresIn } = await authenticateSession(deps, tenant, bearerToken(request));
      if (family.kind !== 'customer' || !family.customer) throw new InvalidToken();
      return {
        status: 200,
        body: {
          token_type: 'Bearer',
          expires_in: expiresIn,
          scope: `tenant=${tenant}`,
          sessionId: family.sessionId,
          email: family.customer.email,
          legalEntityId: legalEntityOf(family.customer) ?? null,
        },
      };
    },

    'GET /customer/{tenant}/logout': async (request) => {
      const tenant = tenantFrom(request.pathParameters.tenant);
      const fromQuery = queryParam(request, 'accessToken');
      const fromHeader = bearerToken(request);
      if (fromQuery !== undefined && fromHeader !== undefined && fromQuery !== fromHeader) {
        throw new InvalidRequest('accessToken and the Authorization header name different tokens', [
          { field: 'accessToken', type: 'conflict', message: 'differs from the Authorization header' },
        ]);
      }
      const token = fromQuery ?? fromHeader;
      await logout(deps, tenant, token);
      return { status: 204 };
    },
  };
}

/**
 * Contract section 1: the anonymous routes take the tenant as `tenant` or as `hybris-tenant`
 * (which Emporix's own storefronts still send). Each one present is checked like a tenant and
 * refused naming itself; two that differ are a 400, never a silent pick.
 */
function anonymousTenant(request: HttpRequest): string {
  const tenant = queryParam(request, 'tenant');
  const hybrisTenant = queryParam(request, 'hybris-tenant');
  if (hybrisTenant === undefined) return tenantFrom(tenant);
  if (!isValidTenant(hybrisTenant)) {
    throw new InvalidRequest('hybris-tenant must match ^[a-z][a-z0-9]+$ and be 3 to 16 characters', [
      { field: 'hybris-tenant', type: 'invalid', message: 'malformed tenant' },
    ]);
  }
  if (tenant === undefined) return hybrisTenant;
  const checked = tenantFrom(tenant);
  if (checked !== hybrisTenant) {
    throw new InvalidRequest('tenant and hybris-tenant name different tenants', [
      { field: 'hybris-tenant', type: 'conflict', message: 'differs from tenant' },
    ]);
  }
  return checked;
}

function required(request: HttpRequest, name: string): string {
  const value = queryParam(request, name);
  if (value === undefined) throw missing(name);
  return value;
}

function optionalBounded(request: HttpRequest, name: string, kind: 'legalEntityId'): string | undefined {
  const value = queryParam(request, name);
  return value === undefined ? undefined : bounded(kind, name, value);
}

function missing(name: string): InvalidRequest {
  return new InvalidRequest(`${name} is required`, [{ field: name, type: 'required', message: `${name} is required` }]);
}

const CONTEXT_FIELDS = ['currency', 'siteCode', 'language', 'targetLocation'] as const;

function sessionContext(request: HttpRequest): SessionContext {
  const context: SessionContext = {};
  for (const field of CONTEXT_FIELDS) {
    const value = queryParam(request, field);
    if (value === undefined) continue;
    if (value.length > 64) throw new InvalidRequest(`${field} is too long`, [{ field, type: 'invalid', message: 'at most 64 characters' }]);
    context[field] = value;
  }
  return context;
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

function credentials(request: HttpRequest): { email: string; password: string } {
  const params = bodyParams(request);
  const problems: FieldProblem[] = [];
  const email = params.email?.trim().toLowerCase();
  const password = params.password;
  if (email === undefined) problems.push({ field: 'email', type: 'required', message: 'email is required' });
  else if (email.length > MAX_LENGTH.email || !EMAIL.test(email))
    problems.push({ field: 'email', type: 'invalid', message: 'not an email address' });
  if (password === undefined) problems.push({ field: 'password', type: 'required', message: 'password is required' });
  else if (password.length < 6) problems.push({ field: 'password', type: 'invalid', message: 'at least 6 characters' });
  else if (password.length > 1024) problems.push({ field: 'password', type: 'invalid', message: 'at most 1024 characters' });
  if (problems.length > 0) throw new InvalidRequest('invalid login request', problems);
  return { email: email!, password: password! };
}
