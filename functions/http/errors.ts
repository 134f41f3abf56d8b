import { BrokerError, type FieldProblem, type KnownError } from '../domain/errors.js';

/**
 * How the broker's errors look on the wire (contract section 7): two tables, one per wire shape,
 * with one entry per error kind, and `errorResponse`, the one step that applies them. The
 * Lambda adapter (lambda-adapter.ts) calls it for every error a route throws.
 *  - `oauth`:   RFC 6749 section 5.2 `{ error, error_description }` on `/oauth/*` and `/.well-known/*`;
 *  - `emporix`: the Emporix shapes on storefront paths.
 * An entry for an error that a route of that shape never throws today still answers something
 * well-formed, so a table is total and a new throw site cannot fall through to a 500.
 */

export type WireShape = 'oauth' | 'emporix';

export interface ErrorResponse {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

type Kind = KnownError['kind'];
type Table = { [K in Kind]: (error: Extract<KnownError, { kind: K }>) => ErrorResponse };

/** RFC 6749 section 5.2: a failed Basic authentication answers with a Basic challenge. */
const BASIC_CHALLENGE = { 'WWW-Authenticate': 'Basic realm="token-broker", charset="UTF-8"' };
const UNAVAILABLE = 'The service is temporarily unavailable; retry shortly.';
const UNEXPECTED = 'An unexpected error occurred.';

/** What a storefront sees: the faultstring and errorcode it branches on (refresh or log in again). */
const FAULTS = {
  expired: ['Access Token expired', 'keymanagement.service.access_token_expired'],
  invalidToken: ['Invalid access token', 'oauth.v2.InvalidAccessToken'],
  invalidApiKey: ['Invalid ApiKey', 'oauth.v2.InvalidApiKey'],
  invalidRefreshToken: ['Invalid refresh token', 'oauth.v2.InvalidRefreshToken'],
} as const;
const LEGAL_ENTITY_NOT_ASSIGNED = 'The customer is not assigned to this legal entity.';
const INVALID_CREDENTIALS = 'Invalid email or password.';
const LOGIN_THROTTLED = 'Too many failed logins; try again later.';

function tokenFault(error: { expired: boolean }): readonly [string, string] {
  return error.expired ? FAULTS.expired : FAULTS.invalidToken;
}

function retryAfter(seconds: number): Record<string, string> {
  return { 'Retry-After': String(seconds) };
}

// --- RFC 6749 -------------------------------------------------------------------------------

function oauth(status: number, error: string, description: string, headers: Record<string, string> = {}): ErrorResponse {
  return { status, headers, body: { error, error_description: description } };
}

/**
 * RFC 6749 section 5.2: 400, except 401 for a failed client authentication. The storefront-only
 * kinds (a bearer token, a login) answer as they do on storefront paths, in this shape.
 */
export const OAUTH_ERRORS: Table = {
  InvalidRequest: (e) => oauth(400, 'invalid_request', e.message),
  RequestTooLarge: (e) => oauth(413, 'invalid_request', e.message),
  InvalidClient: (e) => oauth(401, 'invalid_client', e.message, e.usedBasic ? { ...BASIC_CHALLENGE } : {}),
  InvalidGrant: (e) => oauth(400, 'invalid_grant', e.message),
  InvalidScope: (e) => oauth(400, 'invalid_scope', e.message),
  UnauthorizedClient: (e) => oauth(400, 'unauthorized_client', e.message),
  UnsupportedGrantType: (e) => oauth(400, 'unsupported_grant_type', e.message),
  InvalidToken: (e) => oauth(401, 'invalid_token', tokenFault(e)[0]),
  UnknownStorefrontClient: () => oauth(401, 'invalid_token', FAULTS.invalidApiKey[0]),
  LegalEntityNotAssigned: () => oauth(403, 'forbidden', LEGAL_ENTITY_NOT_ASSIGNED),
  InvalidCredentials: () => oauth(401, 'unauthorized', INVALID_CREDENTIALS),
  LoginThrottled: (e) => oauth(429, 'too_many_requests', LOGIN_THROTTLED, retryAfter(e.retryAfter)),
  ExternalTokenRejected: (e) => oauth(400, 'invalid_grant', e.message),
  UnknownCustomer: (e) => oauth(404, 'invalid_request', e.message),
  Conflict: (e) => oauth(409, 'invalid_request', e.message),
  Throttled: (e) => oauth(429, 'too_many_requests', e.message, retryAfter(e.retryAfter)),
  NotFound: (e) => oauth(404, 'invalid_request', e.message),
  MethodNotAllowed: (e) => oauth(405, 'invalid_request', e.message, { Allow: e.allowed.join(', ') }),
  // RFC 6749 section 4.1.2.1 defines temporarily_unavailable for exactly this.
  ServiceUnavailable: (e) => oauth(503, 'temporarily_unavailable', UNAVAILABLE, retryAfter(e.retryAfter)),
};

// --- Emporix --------------------------------------------------------------------------------

/** `{ status, type, message, details }`, Emporix's shape for everything but a 401 fault. */
function emporix(
  status: number,
  type: string,
  message: string,
  details: FieldProblem[] = [],
  headers: Record<string, string> = {},
): ErrorResponse {
  return { status, headers, body: { status, type, message, details } };
}

/** An Emporix (Apigee-style) 401 fault: `{ fault: { faultstring, detail: { errorcode } } }`. */
function fault([faultstring, errorcode]: readonly [string, string]): ErrorResponse {
  return { status: 401, headers: {}, body: { fault: { faultstring, detail: { errorcode } } } };
}

/** The Emporix shapes storefronts are written against; the OAuth-only kinds as a bad_request. */
export const EMPORIX_ERRORS: Table = {
  InvalidRequest: (e) => emporix(400, 'bad_request', e.message, e.problems),
  RequestTooLarge: (e) => emporix(413, 'payload_too_large', e.message),
  InvalidClient: (e) => emporix(401, 'bad_request', e.message, [], e.usedBasic ? { ...BASIC_CHALLENGE } : {}),
  InvalidGrant: () => fault(FAULTS.invalidRefreshToken),
  InvalidScope: (e) => emporix(400, 'bad_request', e.message),
  UnauthorizedClient: (e) => emporix(400, 'bad_request', e.message),
  UnsupportedGrantType: (e) => emporix(400, 'bad_request', e.message),
  InvalidToken: (e) => fault(tokenFault(e)),
  UnknownStorefrontClient: () => fault(FAULTS.invalidApiKey),
  LegalEntityNotAssigned: () => emporix(403, 'forbidden', LEGAL_ENTITY_NOT_ASSIGNED),
  InvalidCredentials: () => emporix(401, 'unauthorized', INVALID_CREDENTIALS),
  LoginThrottled: (e) => emporix(429, 'too_many_requests', LOGIN_THROTTLED, [], retryAfter(e.retryAfter)),
  // Contract section 10: a bad or used code, a token that fails a check: 401 in the Emporix shape.
  ExternalTokenRejected: () => fault(FAULTS.invalidToken),
  UnknownCustomer: (e) => emporix(404, 'not_found', e.message),
  // Contract section 11: Emporix's answer to a signup under an email with an account.
  Conflict: (e) => emporix(409, 'conflict_resource', e.message),
  Throttled: (e) => emporix(429, 'too_many_requests', e.message, [], retryAfter(e.retryAfter)),
  NotFound: (e) => emporix(404, 'not_found', e.message),
  MethodNotAllowed: (e) => emporix(405, 'method_not_allowed', e.message, [], { Allow: e.allowed.join(', ') }),
  ServiceUnavailable: (e) => emporix(503, 'service_unavailable', UNAVAILABLE, [], retryAfter(e.retryAfter)),
};

const TABLES: Record<WireShape, Table> = { oauth: OAUTH_ERRORS, emporix: EMPORIX_ERRORS };

/**
 * The one step that turns an error into a response. A BrokerError is rendered by the table of
 * the route's shape; anything else is unexpected: reported through `onUnexpected` (the caller
 * logs it) and answered with a generic 500 that reveals nothing.
 */
export function errorResponse(error: unknown, shape: WireShape, onUnexpected: (error: unknown) => void): ErrorResponse {
  if (error instanceof BrokerError) {
    const render = TABLES[shape][(error as KnownError).kind] as ((error: KnownError) => ErrorResponse) | undefined;
    if (render) return render(error as KnownError);
  }
  onUnexpected(error);
  return {
    status: 500,
    headers: {},
    body:
      shape === 'oauth'
        ? { error: 'server_error', error_description: UNEXPECTED }
        : { status: 500, type: 'internal_error', message: UNEXPECTED, details: [] },
  };
}
