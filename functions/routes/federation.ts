import { InvalidRequest } from '../domain/errors.js';
import { exchangeAuthTokenBody, socialLoginBody } from '../domain/storefront-responses.js';
import { bearerToken, legacy, tenantFrom } from '../http/emporix.js';
import { bounded, queryParam } from '../http/params.js';
import type { HttpRequest, RouteHandlers } from '../http/types.js';
import type { FederationDeps } from '../use-cases/deps.js';
import { exchangeAuthToken, socialLogin } from '../use-cases/federated-login.js';

/**
 * Federated customers (contract section 10): `POST /customer/{tenant}/socialLogin` and
 * `POST /customer/{tenant}/exchangeauthtoken`, in the Emporix shapes. Every parameter is bounded
 * and checked for its shape here, before the tenant is read or a provider called; nothing from
 * the request is ever fetched (the provider's endpoints come from its configured issuer).
 * `issuer`: the configured one (functions/config.ts), the `iss` of every saas_token.
 */
export function federationRoutes(deps: FederationDeps, options: { issuer: string }): RouteHandlers {
  return {
    'POST /customer/{tenant}/socialLogin': async (request) => {
      const tenant = tenantFrom(request.pathParameters.tenant);
      const code = token(request, 'code', 'externalCode', true);
      const redirectUri = redirectUriOf(request);
      const codeVerifier = codeVerifierOf(request);
      const nonce = token(request, 'nonce', 'nonce', false);
      const result = await socialLogin(deps, {
        tenant,
        bearer: anonymousToken(request),
        config: configOf(request),
        code,
        redirectUri,
        codeVerifier,
        nonce,
        issuer: options.issuer,
      });
      const body = socialLoginBody(result.pair, result.saasToken, result.sessionId, tenant, {
        accessToken: result.socialAccessToken,
        idToken: result.socialIdToken,
      });
      return legacy(body, result.tenant.settings.legacyTokenFieldsUntil, deps.clock());
    },

    'POST /customer/{tenant}/exchangeauthtoken': async (request) => {
      const tenant = tenantFrom(request.pathParameters.tenant);
      const subjectAccessToken = token(request, 'subjectAccessToken', 'externalToken', true);
      const result = await exchangeAuthToken(deps, {
        tenant,
        bearer: anonymousToken(request),
        config: configOf(request),
        subjectAccessToken,
        issuer: options.issuer,
      });
      const body = exchangeAuthTokenBody(result.pair, result.saasToken, result.sessionId, tenant, subjectAccessToken);
      return legacy(body, result.tenant.settings.legacyTokenFieldsUntil, deps.clock());
    },
  };
}

function invalid(field: string, message: string): InvalidRequest {
  return new InvalidRequest(`${field} is invalid: ${message}`, [{ field, type: 'invalid', message }]);
}

/** Printable ASCII without spaces: what a code, a token or a nonce consists of on the wire. */
const TOKEN_CHARS = /^[\x21-\x7e]+$/;

function token(request: HttpRequest, field: string, kind: 'externalCode' | 'externalToken' | 'nonce', required: true): string;
function token(request: HttpRequest, field: string, kind: 'externalCode' | 'externalToken' | 'nonce', required: false): string | undefined;
function token(
  request: HttpRequest,
  field: string,
  kind: 'externalCode' | 'externalToken' | 'nonce',
  required: boolean,
): string | undefined {
  const value = queryParam(request, field);
  if (value === undefined) {
    if (!required) return undefined;
    throw new InvalidRequest(`${field} is required`, [{ field, type: 'required', message: `${field} is required` }]);
  }
  bounded(kind, field, value);
  if (!TOKEN_CHARS.test(value)) throw invalid(field, 'printable ASCII characters without spaces only');
  return value;
}

/** A seed's provider name: `[A-Za-z0-9._-]`, at most 64 characters. */
const PROVIDER_NAME = /^[A-Za-z0-9._-]+$/;

function configOf(request: HttpRequest): string | undefined {
  const value = queryParam(request, 'config');
  if (value === undefined) return undefined;
  bounded('providerName', 'config', value);
  if (!PROVIDER_NAME.test(value)) throw invalid('config', 'letters, digits, dot, underscore and hyphen only');
  return value;
}

/** Passed to the provider's token endpoint as given, which must match what it registered. */
function redirectUriOf(request: HttpRequest): string | undefined {
  const value = queryParam(request, 'redirect_uri');
  if (value === undefined) return undefined;
  bounded('redirectUri', 'redirect_uri', value);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalid('redirect_uri', 'not an absolute URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw invalid('redirect_uri', 'not an http(s) URL');
  if (url.hash !== '' || value.includes('#')) throw invalid('redirect_uri', 'must not have a fragment');
  return value;
}

/** RFC 7636 section 4.1: 43 to 128 unreserved characters. */
const CODE_VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/;

function codeVerifierOf(request: HttpRequest): string | undefined {
  const value = queryParam(request, 'code_verifier');
  if (value === undefined) return undefined;
  bounded('codeVerifier', 'code_verifier', value);
  if (!CODE_VERIFIER.test(value)) throw invalid('code_verifier', '43 to 128 characters of [A-Za-z0-9._~-]');
  return value;
}

/**
 * The anonymous access token whose session carries over: `Authorization: Bearer` (RFC 6750
 * section 2.1), or the `anonymous_token` query parameter standing in when the header is missing
 * (Emporix's own storefront sends both, contract section 10).
 */
function anonymousToken(request: HttpRequest): string | undefined {
  const bearer = bearerToken(request);
  if (bearer !== undefined) return bearer;
  const fromQuery = queryParam(request, 'anonymous_token');
  return fromQuery === undefined ? undefined : bounded('token', 'anonymous_token', fromQuery);
}
