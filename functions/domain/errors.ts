/**
 * The one error module. Every error the broker answers with knows its HTTP status and how to
 * render itself in either wire shape of the contract (section 7):
 *  - `oauth`:   RFC 6749 section 5.2 `{ error, error_description }` on `/oauth/*`;
 *  - `emporix`: the Emporix shapes on storefront paths.
 * Anything that is not a BrokerError is unexpected: `errorResponse` turns it into a generic 5xx.
 */

export type WireShape = 'oauth' | 'emporix';

export interface ErrorResponse {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

export interface FieldProblem {
  field: string;
  type: string;
  message: string;
}

export abstract class BrokerError extends Error {
  abstract readonly status: number;
  readonly headers: Record<string, string> = {};
  abstract body(shape: WireShape): unknown;
}

/** RFC 6749 section 5.2 error codes, plus RFC 7009's `unsupported_token_type`. */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'unsupported_token_type';

export class OAuthError extends BrokerError {
  readonly status: number;

  constructor(
    readonly code: OAuthErrorCode,
    readonly description: string,
    status?: number,
  ) {
    super(`${code}: ${description}`);
    // RFC 6749 section 5.2: everything is 400 except a failed client authentication.
    this.status = status ?? (code === 'invalid_client' ? 401 : 400);
  }

  body(shape: WireShape): unknown {
    if (shape === 'emporix') return emporixBadRequest(this.status, this.description, []);
    return { error: this.code, error_description: this.description };
  }
}

/**
 * A failed client authentication. RFC 6749 section 5.2: when the client authenticated with the
 * Authorization header, the 401 carries a WWW-Authenticate challenge for that scheme.
 */
export class InvalidClient extends OAuthError {
  constructor(description: string, usedBasic: boolean) {
    super('invalid_client', description, 401);
    if (usedBasic) this.headers['WWW-Authenticate'] = 'Basic realm="token-broker", charset="UTF-8"';
  }
}

/** A malformed request: 400 (or 413 for an oversized body) in the shape of the route. */
export class BadRequest extends BrokerError {
  constructor(
    message: string,
    readonly details: FieldProblem[] = [],
    readonly status: number = 400,
  ) {
    super(message);
  }

  body(shape: WireShape): unknown {
    if (shape === 'oauth') return { error: 'invalid_request', error_description: this.message };
    return emporixBadRequest(this.status, this.message, this.details);
  }
}

/** An Emporix (Apigee-style) 401 fault: `{ fault: { faultstring, detail: { errorcode } } }`. */
export class EmporixFault extends BrokerError {
  readonly status = 401;

  constructor(
    faultstring: string,
    readonly errorcode: string,
  ) {
    super(faultstring);
  }

  body(shape: WireShape): unknown {
    if (shape === 'oauth') return { error: 'invalid_token', error_description: this.message };
    return { fault: { faultstring: this.message, detail: { errorcode: this.errorcode } } };
  }
}

/** Emporix 401 for a bad bearer token; storefronts branch on the errorcode to decide to refresh. */
export class InvalidAccessToken extends EmporixFault {
  constructor(readonly expired = false) {
    super(
      expired ? 'Access Token expired' : 'Invalid access token',
      expired ? 'keymanagement.service.access_token_expired' : 'oauth.v2.InvalidAccessToken',
    );
  }
}

/** An unknown storefront client id, answered as Emporix's gateway does. */
export class InvalidApiKey extends EmporixFault {
  constructor() {
    super('Invalid ApiKey', 'oauth.v2.InvalidApiKey');
  }
}

/** A known error with an Emporix `type` other than bad_request (403 forbidden, 429 and so on). */
export class EmporixError extends BrokerError {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
    headers: Record<string, string> = {},
  ) {
    super(message);
    Object.assign(this.headers, headers);
  }

  body(shape: WireShape): unknown {
    if (shape === 'oauth') return { error: this.type, error_description: this.message };
    return { status: this.status, type: this.type, message: this.message, details: [] };
  }
}

export class NotFound extends BrokerError {
  readonly status = 404;

  constructor(method: string, path: string) {
    super(`No route for ${method} ${path}`);
  }

  body(shape: WireShape): unknown {
    if (shape === 'oauth') return { error: 'invalid_request', error_description: this.message };
    return { status: 404, type: 'not_found', message: this.message, details: [] };
  }
}

export class MethodNotAllowed extends BrokerError {
  readonly status = 405;

  constructor(method: string, path: string, allowed: string[]) {
    super(`${method} is not allowed on ${path}`);
    this.headers['Allow'] = allowed.join(', ');
  }

  body(shape: WireShape): unknown {
    if (shape === 'oauth') return { error: 'invalid_request', error_description: this.message };
    return { status: 405, type: 'method_not_allowed', message: this.message, details: [] };
  }
}

/**
 * The store or a dependency (Secrets Manager) failed in a way a retry may fix. Contract: 503 with
 * Retry-After, and no token handed out that was not durably written.
 */
export class ServiceUnavailable extends BrokerError {
  readonly status = 503;

  constructor(
    readonly dependency: string,
    override readonly cause?: unknown,
    retryAfterSeconds = 1,
  ) {
    super(`${dependency} is unavailable`);
    this.headers['Retry-After'] = String(retryAfterSeconds);
  }

  body(shape: WireShape): unknown {
    const message = 'The service is temporarily unavailable; retry shortly.';
    // RFC 6749 section 4.1.2.1 defines temporarily_unavailable for exactly this.
    if (shape === 'oauth') return { error: 'temporarily_unavailable', error_description: message };
    return { status: 503, type: 'service_unavailable', message, details: [] };
  }
}

function emporixBadRequest(status: number, message: string, details: FieldProblem[]) {
  return { status, type: status === 413 ? 'payload_too_large' : 'bad_request', message, details };
}

/**
 * The one place errors become responses. Unexpected errors are reported through `onUnexpected`
 * (the caller logs them) and answered with a body that reveals nothing.
 */
export function errorResponse(
  error: unknown,
  shape: WireShape,
  onUnexpected: (error: unknown) => void,
): ErrorResponse {
  if (error instanceof BrokerError) {
    return { status: error.status, headers: { ...error.headers }, body: error.body(shape) };
  }
  onUnexpected(error);
  return {
    status: 500,
    headers: {},
    body:
      shape === 'oauth'
        ? { error: 'server_error', error_description: 'An unexpected error occurred.' }
        : { status: 500, type: 'internal_error', message: 'An unexpected error occurred.', details: [] },
  };
}
