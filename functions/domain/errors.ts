/**
 * The errors of the broker, named by what went wrong. None knows an HTTP status, a header or a
 * wire body: `functions/http/errors.ts` holds the two tables that render them, RFC 6749 on
 * `/oauth/*` and Emporix on storefront paths (contract section 7), and the Lambda adapter applies
 * them in one place. Anything thrown that is not a BrokerError is a bug: a generic 500, logged.
 *
 * `kind` is the key of those tables; a subclass keeps its parent's kind and so its rendering.
 */

export interface FieldProblem {
  field: string;
  type: string;
  message: string;
}

export abstract class BrokerError extends Error {
  abstract readonly kind: string;
}

/** The request is malformed: a missing, repeated, over-long or invalid parameter. */
export class InvalidRequest extends BrokerError {
  readonly kind = 'InvalidRequest' as const;

  constructor(
    message: string,
    /** The fields at fault, when the request can name them. */
    readonly problems: FieldProblem[] = [],
  ) {
    super(message);
  }
}

/** The request body is larger than any legitimate request; refused before parsing. */
export class RequestTooLarge extends BrokerError {
  readonly kind = 'RequestTooLarge' as const;

  constructor(readonly limitBytes: number) {
    super(`request body exceeds ${limitBytes} bytes`);
  }
}

/**
 * A service client did not authenticate: none presented, malformed credentials, unknown client,
 * wrong secret, or another tenant's client. `usedBasic`: it tried the Authorization header.
 */
export class InvalidClient extends BrokerError {
  readonly kind = 'InvalidClient' as const;

  constructor(
    message: string,
    readonly usedBasic: boolean,
  ) {
    super(message);
  }
}

/** A refresh token (or other grant) that is unknown, expired, revoked or reused. */
export class InvalidGrant extends BrokerError {
  readonly kind = 'InvalidGrant' as const;

  constructor(message = 'the grant is invalid, expired or revoked') {
    super(message);
  }
}

/** A requested scope that is malformed, too long, or not held by the client. */
export class InvalidScope extends BrokerError {
  readonly kind = 'InvalidScope' as const;
}

/**
 * RFC 6749 section 5.2: the client authenticated (or, public, named itself) but is not registered
 * for this grant type: a service client asking for a code's tokens, an app for client_credentials.
 */
export class UnauthorizedClient extends BrokerError {
  readonly kind = 'UnauthorizedClient' as const;

  constructor(grantType: string) {
    super(`the client is not registered for grant_type ${grantType}`);
  }
}

export class UnsupportedGrantType extends BrokerError {
  readonly kind = 'UnsupportedGrantType' as const;

  constructor(readonly grantType: string) {
    super(`grant_type ${grantType} is not supported`);
  }
}

/** A bearer access token that is unknown, malformed, revoked, another tenant's, or expired. */
export class InvalidToken extends BrokerError {
  readonly kind = 'InvalidToken' as const;
  readonly expired: boolean;

  constructor(options: { expired?: boolean } = {}) {
    const expired = options.expired ?? false;
    super(expired ? 'the access token expired' : 'the access token is invalid');
    this.expired = expired;
  }
}

/** A storefront client id the tenant does not list (or a tenant the directory does not have). */
export class UnknownStorefrontClient extends BrokerError {
  readonly kind = 'UnknownStorefrontClient' as const;

  constructor() {
    super('unknown storefront client');
  }
}

/** A customer refresh that names a legal entity the customer is not assigned to. */
export class LegalEntityNotAssigned extends BrokerError {
  readonly kind = 'LegalEntityNotAssigned' as const;

  constructor() {
    super('the customer is not assigned to this legal entity');
  }
}

/** Unknown email or wrong password; the two are one answer. */
export class InvalidCredentials extends BrokerError {
  readonly kind = 'InvalidCredentials' as const;

  constructor() {
    super('invalid email or password');
  }
}

/** Too many failed logins for the account; `retryAfter` seconds until the next attempt. */
export class LoginThrottled extends BrokerError {
  readonly kind = 'LoginThrottled' as const;

  constructor(readonly retryAfter: number) {
    super(`too many failed logins; retry after ${retryAfter} s`);
  }
}

/**
 * An identity provider refused what the storefront brought (a bad, used or expired code; a token
 * that fails a check): contract section 10 answers 401 in the Emporix shape.
 */
export class ExternalTokenRejected extends BrokerError {
  readonly kind = 'ExternalTokenRejected' as const;
}

/** A federated user the broker knows no customer for, with provisioning off: 404. */
export class UnknownCustomer extends BrokerError {
  readonly kind = 'UnknownCustomer' as const;

  constructor() {
    super('no customer for this identity');
  }
}

/** The resource exists already (contract section 11: a signup under an email with an account): 409. */
export class Conflict extends BrokerError {
  readonly kind = 'Conflict' as const;
}

/** Too many requests of one kind from one source (signup and resend per source IP): 429. */
export class Throttled extends BrokerError {
  readonly kind = 'Throttled' as const;

  constructor(readonly retryAfter: number) {
    super('too many requests');
  }
}

/** No route serves this path. */
export class NotFound extends BrokerError {
  readonly kind = 'NotFound' as const;

  constructor(method: string, path: string) {
    super(`No route for ${method} ${path}`);
  }
}

/** The path is served, but not for this method; `allowed` lists the methods it takes. */
export class MethodNotAllowed extends BrokerError {
  readonly kind = 'MethodNotAllowed' as const;

  constructor(
    method: string,
    path: string,
    readonly allowed: string[],
  ) {
    super(`${method} is not allowed on ${path}`);
  }
}

/**
 * The store or a dependency (Secrets Manager) failed in a way a retry may fix, `retryAfter`
 * seconds from now. No token is handed out that was not durably written.
 */
export class ServiceUnavailable extends BrokerError {
  readonly kind = 'ServiceUnavailable' as const;

  constructor(
    readonly dependency: string,
    override readonly cause?: unknown,
    readonly retryAfter = 1,
  ) {
    super(`${dependency} is unavailable`);
  }
}

// ---------------------------------------------------------------------------------------------
/** Every error the edge knows how to render; each table has one entry per `kind`. */
export type KnownError =
  | InvalidRequest
  | RequestTooLarge
  | InvalidClient
  | InvalidGrant
  | InvalidScope
  | UnauthorizedClient
  | UnsupportedGrantType
  | InvalidToken
  | UnknownStorefrontClient
  | LegalEntityNotAssigned
  | InvalidCredentials
  | LoginThrottled
  | ExternalTokenRejected
  | UnknownCustomer
  | Conflict
  | Throttled
  | NotFound
  | MethodNotAllowed
  | ServiceUnavailable;
