import {
  Conflict,
  ExternalTokenRejected,
  InvalidClient,
  InvalidCredentials,
  InvalidGrant,
  InvalidRequest,
  InvalidScope,
  InvalidToken,
  type KnownError,
  LegalEntityNotAssigned,
  LoginThrottled,
  MethodNotAllowed,
  NotFound,
  RequestTooLarge,
  ServiceUnavailable,
  Throttled,
  UnauthorizedClient,
  UnknownCustomer,
  UnknownStorefrontClient,
  UnsupportedGrantType,
} from '../domain/errors.js';
import { MAX_BODY_BYTES } from '../http/params.js';
import { type ErrorResponse, errorResponse, EMPORIX_ERRORS, OAUTH_ERRORS, type WireShape } from '../http/errors.js';
import type { Json } from './types.js';

/**
 * The error responses of the API document, rendered by the very tables the Lambda adapter applies
 * (http/errors.ts): each route lists the error kinds it can throw, and every status code, header
 * and body in the document comes from rendering a sample of each kind in the route's shape. A
 * change to a table (a status, an error code, a header) changes the document with it; a new kind
 * does not compile until it has a sample and a description here.
 */

export type Kind = KnownError['kind'];

/** One or more instances of each kind, as the broker throws them (a variant per rendering). */
const SAMPLES: { [K in Kind]: Extract<KnownError, { kind: K }>[] } = {
  InvalidRequest: [
    new InvalidRequest('grant_type is required'),
    new InvalidRequest('invalid login request', [{ field: 'password', type: 'invalid', message: 'at least 6 characters' }]),
  ],
  RequestTooLarge: [new RequestTooLarge(MAX_BODY_BYTES)],
  InvalidClient: [new InvalidClient('client authentication failed', true), new InvalidClient('client authentication required', false)],
  InvalidGrant: [new InvalidGrant('refresh token reused')],
  InvalidScope: [new InvalidScope('scope order.order_delete is not granted to this client')],
  UnauthorizedClient: [new UnauthorizedClient('client_credentials')],
  UnsupportedGrantType: [new UnsupportedGrantType('password')],
  InvalidToken: [new InvalidToken(), new InvalidToken({ expired: true })],
  UnknownStorefrontClient: [new UnknownStorefrontClient()],
  LegalEntityNotAssigned: [new LegalEntityNotAssigned()],
  InvalidCredentials: [new InvalidCredentials()],
  LoginThrottled: [new LoginThrottled(60)],
  ExternalTokenRejected: [new ExternalTokenRejected('token refused: expired')],
  UnknownCustomer: [new UnknownCustomer()],
  Conflict: [new Conflict('a customer with this email already exists')],
  Throttled: [new Throttled(600)],
  NotFound: [new NotFound('GET', '/no/such/path')],
  MethodNotAllowed: [new MethodNotAllowed('DELETE', '/oauth/token', ['POST'])],
  ServiceUnavailable: [new ServiceUnavailable('store')],
};

/** The examples' names where one kind renders more than one way (in SAMPLES order). */
const VARIANTS: Partial<Record<Kind, string[]>> = {
  InvalidRequest: ['InvalidRequest', 'InvalidRequest naming the field'],
  InvalidClient: ['InvalidClient (HTTP Basic tried)', 'InvalidClient (no credentials)'],
  InvalidToken: ['InvalidToken', 'InvalidToken (expired)'],
};

/** What each kind means to a caller, in the response's description. */
export const KIND_DESCRIPTIONS: Record<Kind, string> = {
  InvalidRequest: 'a missing, repeated, over-long or malformed parameter, or a malformed body',
  RequestTooLarge: `a body over ${MAX_BODY_BYTES} bytes, refused before it is parsed`,
  InvalidClient: 'client authentication failed (none, malformed, unknown client, wrong secret, or another tenant’s client)',
  InvalidGrant: 'the code or refresh token is unknown, expired, revoked, reused or another client’s',
  InvalidScope: 'a requested scope is malformed or not the client’s',
  UnauthorizedClient: 'the client is not registered for this grant type',
  UnsupportedGrantType: 'a grant type the broker does not serve',
  InvalidToken:
    'the bearer access token is unknown, revoked, another tenant’s or expired (the expired fault tells a storefront to refresh)',
  UnknownStorefrontClient: 'the client id is not a storefront client of the tenant',
  LegalEntityNotAssigned: 'the customer is not assigned to the legal entity asked for',
  InvalidCredentials: 'wrong email or password (one answer for both)',
  LoginThrottled: 'too many failed logins for the account; retry after `Retry-After` seconds',
  ExternalTokenRejected: 'the identity provider refused the code, or its token failed a check',
  UnknownCustomer: 'no customer for this identity and the provider does not provision one',
  Conflict: 'an account with this email exists',
  Throttled: 'too many requests of this kind from this source; retry after `Retry-After` seconds',
  NotFound: 'no route serves the path',
  MethodNotAllowed: 'the path does not take this method (`Allow` lists those it takes)',
  ServiceUnavailable: 'the store or a dependency failed; retry after `Retry-After` seconds (no token was handed out)',
};

/** Every response header the error tables set, described once. */
export const ERROR_HEADERS: Record<string, Json> = {
  'Retry-After': { description: 'Seconds to wait before retrying.', schema: { type: 'integer', minimum: 0 } },
  'WWW-Authenticate': {
    description: 'A Basic challenge (RFC 6749 section 5.2), sent when the client tried HTTP Basic authentication.',
    schema: { type: 'string' },
  },
  Allow: { description: 'The methods the path takes.', schema: { type: 'string' } },
};

const TABLES = { oauth: OAUTH_ERRORS, emporix: EMPORIX_ERRORS } as const;

export interface RenderedError {
  kind: Kind;
  /** The example's key: the kind, and a number when one kind renders more than one way. */
  name: string;
  /** The example's summary. */
  summary: string;
  response: ErrorResponse;
}

/** Every sample of `kinds`, rendered by the table of `shape`. */
export function renderErrors(shape: WireShape, kinds: readonly Kind[]): RenderedError[] {
  return kinds.flatMap((kind) =>
    SAMPLES[kind].map((sample, i) => {
      const render = TABLES[shape][kind] as (error: KnownError) => ErrorResponse;
      return { kind, name: i === 0 ? kind : `${kind}${i + 1}`, summary: VARIANTS[kind]?.[i] ?? kind, response: render(sample) };
    }),
  );
}

/** The generic 500 of a bug, as the adapter renders it; never an answer to bad input. */
export function renderUnexpected(shape: WireShape): ErrorResponse {
  return errorResponse(new Error('sample'), shape, () => {});
}
