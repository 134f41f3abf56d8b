import { PENDING_AUTHORIZATION_SECONDS } from '../domain/authorization.js';
import { MAX_LENGTH } from '../domain/identifiers.js';
import { SESSION_IDLE_TIME, serviceTokenBody } from '../domain/service-token.js';
import {
  anonymousBody,
  CAMEL_COPIES,
  customerLoginBody,
  customerRefreshBody,
  exchangeAuthTokenBody,
  socialLoginBody,
  type IssuedPair,
} from '../domain/storefront-responses.js';
import { GRANT_TYPES_OF, TENANT_PATTERN } from '../domain/tenant.js';
import { MIN_PASSWORD } from '../use-cases/signup.js';
import { grantTokenBody } from '../use-cases/grants.js';
import type { Json, JsonObject } from './types.js';

/**
 * The schemas of the API document (components.schemas). Bodies are closed
 * (`additionalProperties: false`): the integration test validates real answers against them, so a
 * field added to a body builder without its schema fails there. Examples are made by the body
 * builders the routes call (domain/storefront-responses.ts, domain/service-token.ts,
 * use-cases/grants.ts) and the linter checks each example against its schema.
 */

const json = (value: unknown): Json => value as Json;
const ref = (name: string): JsonObject => ({ $ref: `#/components/schemas/${name}` });

// --- samples, for examples ------------------------------------------------------------------------

const SAMPLE_ACCESS = 'q1k7Zl3M8cVbX2rN0pT6sWyE4aHgJd9LfUoQiK5nBmC-vR_xYz1wA3eS7tD0uG2h';
const SAMPLE_REFRESH = 'Rf0aB1cD2eF3gH4iJ5kL6mN7oP8qR9sT0uV1wX2yZ3a-B4c_D5eF6gH7iJ8kL9m';
const SAMPLE_SAAS = 'eyJhbGciOiJFUzI1NiIsImtpZCI6IjEyMyJ9.eyJpc3MiOiJodHRwczovL2F1dGguZXhhbXBsZS5jb20iLCJzdWIiOiJDLTEwMDEifQ.c2lnbmF0dXJl';
const SAMPLE_SESSION = '5f0c6a52-8a3b-4b8e-9a51-0f6f0c2b9d11';
const PAIR = (accessExpiresIn: number, refreshExpiresIn: number): IssuedPair => ({
  accessToken: SAMPLE_ACCESS,
  accessExpiresIn,
  refreshToken: SAMPLE_REFRESH,
  refreshExpiresIn,
});

// --- fields ---------------------------------------------------------------------------------------

const string = (description: string, extra: JsonObject = {}): JsonObject => ({ type: 'string', description, ...extra });
const integer = (description: string, extra: JsonObject = {}): JsonObject => ({ type: 'integer', description, ...extra });

export const TENANT_SCHEMA: JsonObject = {
  type: 'string',
  pattern: TENANT_PATTERN.source,
  minLength: 3,
  maxLength: MAX_LENGTH.tenant,
  description: 'A tenant: lower-case letters and digits, starting with a letter.',
  examples: ['acme'],
};

const F = {
  access_token: string('The access token: opaque (base64url, 64 characters) or an RFC 9068 JWT for a client configured for JWTs.', {
    minLength: 1,
  }),
  token_type: { type: 'string', const: 'Bearer' },
  expires_in: integer('Seconds until the access token expires.', { minimum: 0 }),
  refresh_token: string('A one-time refresh token: consumed by its first use and replaced.', { minLength: 1 }),
  refresh_token_expires_in: integer('Seconds until the refresh token expires; never past the session’s absolute end.', { minimum: 0 }),
  saas_token: string(
    'A signed JWT (ES256, `kid` in the header; keys at `/.well-known/jwks.json`) with `iss`, `sub` (the customer number), `tenant`, `email`, `sessionId`, `iat`, `exp`.',
  ),
  session_id: string('The session (a UUID), carried over from the anonymous session.'),
  sessionId: string('The session (a UUID); Emporix’s camelCase on the anonymous routes.'),
  tenantScope: string('`tenant=T`.', { pattern: '^tenant=[a-z][a-z0-9]{2,15}$' }),
  session_idle_time: { type: 'integer', const: SESSION_IDLE_TIME, description: 'Emporix’s fixed idle time, reported as is.' },
} satisfies Record<string, JsonObject>;

function closed(properties: Record<string, JsonObject>, required: readonly string[], extra: JsonObject = {}): JsonObject {
  return { type: 'object', additionalProperties: false, required: [...required], properties, ...extra };
}

/**
 * The deprecated camelCase copies (contract section 2, "Legacy field window"), optional: sent only
 * inside a tenant's `legacyTokenFieldsUntil` window, with `Deprecation` and `Sunset` headers.
 */
function withLegacyCopies(properties: Record<string, JsonObject>): Record<string, JsonObject> {
  const copies: Record<string, JsonObject> = {};
  for (const [snake, camel] of Object.entries(CAMEL_COPIES)) {
    const field = properties[snake];
    if (field)
      copies[camel] = {
        ...field,
        deprecated: true,
        description: `Copy of \`${snake}\`, only inside the tenant’s \`legacyTokenFieldsUntil\` window.`,
      };
  }
  return { ...properties, ...copies };
}

/**
 * A storefront token body: every field of `properties` required, their camelCase copies optional
 * (withLegacyCopies), nothing else allowed.
 */
function legacyTokenBody(properties: Record<string, JsonObject>, extra: JsonObject = {}): JsonObject {
  return closed(withLegacyCopies(properties), Object.keys(properties), extra);
}

const SERVICE_TOKEN_EXAMPLE = { accessToken: SAMPLE_ACCESS, expiresIn: 14399, scope: 'order.order_read tenant=acme' };

// --- errors (contract section 7) ----------------------------------------------------------------

/** RFC 6749 section 5.2; `codes`: the error codes a response can carry. */
export function oauthErrorSchema(codes?: Json[]): JsonObject {
  return closed(
    {
      error: string('An RFC 6749 section 5.2 error code.', codes ? { enum: codes } : {}),
      error_description: string('What went wrong, for a developer.'),
    },
    ['error', 'error_description'],
    { description: 'RFC 6749 section 5.2: the error shape of `/oauth/*` and `/.well-known/*`.' },
  );
}

/** Emporix's (Apigee-style) 401 fault; `codes`: the error codes it can carry. */
export function faultSchema(codes: Json[]): JsonObject {
  return closed(
    {
      fault: closed(
        {
          faultstring: string('`Access Token expired` tells a storefront to refresh; anything else to log in again.'),
          detail: closed({ errorcode: string('What the storefront branches on.', { enum: codes }) }, ['errorcode']),
        },
        ['faultstring', 'detail'],
      ),
    },
    ['fault'],
    { description: 'Emporix’s 401 fault for a bad token.' },
  );
}

/** Emporix's error shape; `statuses` and `types`: what a response can carry. */
export function emporixErrorSchema(statuses?: number[], types?: Json[]): JsonObject {
  return closed(
    {
      status: integer('The HTTP status again.', statuses ? { enum: statuses } : {}),
      type: string('For example `bad_request`, `conflict_resource`, `too_many_requests`.', types ? { enum: types } : {}),
      message: string('What went wrong.'),
      details: { type: 'array', items: ref('FieldProblem') },
    },
    ['status', 'type', 'message', 'details'],
    { description: 'Emporix’s error shape for everything but a 401 fault.' },
  );
}

export const SCHEMAS: Record<string, JsonObject> = {
  OAuthError: oauthErrorSchema(),
  EmporixError: emporixErrorSchema(),
  FieldProblem: closed(
    {
      field: string('The parameter or member at fault.'),
      type: string('`required`, `invalid` or `conflict`.'),
      message: string('What is wrong with it.'),
    },
    ['field', 'type', 'message'],
  ),

  // --- /oauth/* requests ---
  TokenRequest: {
    type: 'object',
    required: ['grant_type'],
    description:
      'RFC 6749 token request. Client authentication: HTTP Basic (`client_secret_basic`), or `client_id` and `client_secret` here (`client_secret_post`), or, for a public app client, `client_id` alone (`none`, PKCE is its proof). A parameter must not repeat; an empty one counts as omitted.',
    properties: {
      grant_type: { type: 'string', enum: [...GRANT_TYPES_OF.service, ...GRANT_TYPES_OF.app] },
      client_id: string('The client (client_secret_post, or a public client).', { maxLength: MAX_LENGTH.clientId }),
      client_secret: string('The client’s secret (client_secret_post).', { maxLength: MAX_LENGTH.clientSecret }),
      scope: string('Space-separated scopes; `client_credentials` without it gets all of the client’s, `refresh_token` may narrow.', {
        maxLength: MAX_LENGTH.scope,
      }),
      code: string('`authorization_code`: the code from the redirect.'),
      redirect_uri: string('`authorization_code`: the redirect URI of the authorization request.', { maxLength: MAX_LENGTH.redirectUri }),
      code_verifier: string('`authorization_code`: the PKCE verifier (RFC 7636).', { pattern: '^[A-Za-z0-9._~-]{43,128}$' }),
      refresh_token: string('`refresh_token`: the refresh token, consumed by this request.'),
    },
    examples: [
      { grant_type: 'client_credentials', client_id: 'orders-svc', client_secret: 'orders-secret-0001', scope: 'order.order_read' },
    ],
  },
  TokenOperationRequest: {
    type: 'object',
    required: ['token'],
    description: 'RFC 7662 / RFC 7009 request; client authentication as at the token endpoint.',
    properties: {
      token: string('The token to introspect or revoke.'),
      token_type_hint: string('Accepted and ignored: the broker finds the token’s kind itself.'),
      client_id: string('The client (client_secret_post, or a public client revoking its own tokens).', { maxLength: MAX_LENGTH.clientId }),
      client_secret: string('The client’s secret (client_secret_post).', { maxLength: MAX_LENGTH.clientSecret }),
    },
  },

  // --- /oauth/* answers ---
  ServiceToken: closed(
    {
      access_token: F.access_token,
      token_type: F.token_type,
      expires_in: F.expires_in,
      refresh_token: { type: 'string', const: '', description: 'Always empty: a service token has no refresh token.' },
      refresh_token_expires_in: { type: 'integer', const: 0 },
      session_idle_time: F.session_idle_time,
      scope: string('The granted scopes and `tenant=T`.'),
    },
    ['access_token', 'token_type', 'expires_in', 'refresh_token', 'refresh_token_expires_in', 'session_idle_time', 'scope'],
    {
      description: 'A service token, profile `emporix` (the default): a repeated request gets the same still-fresh token back.',
      examples: [json(serviceTokenBody(SERVICE_TOKEN_EXAMPLE, 'emporix'))],
    },
  ),
  ServiceTokenOAuth2: closed(
    {
      access_token: F.access_token,
      token_type: F.token_type,
      expires_in: F.expires_in,
      session_idle_time: F.session_idle_time,
      scope: string('The granted scopes and `tenant=T`.'),
    },
    ['access_token', 'token_type', 'expires_in', 'session_idle_time', 'scope'],
    {
      description: 'A service token, profile `oauth2`: without the empty refresh fields strict RFC 6749 clients reject.',
      examples: [json(serviceTokenBody(SERVICE_TOKEN_EXAMPLE, 'oauth2'))],
    },
  ),
  GrantToken: closed(
    {
      access_token: F.access_token,
      token_type: F.token_type,
      expires_in: F.expires_in,
      refresh_token: F.refresh_token,
      refresh_token_expires_in: F.refresh_token_expires_in,
      scope: string('The granted scopes.'),
    },
    ['access_token', 'token_type', 'expires_in', 'refresh_token', 'refresh_token_expires_in', 'scope'],
    {
      description: 'The answer to `authorization_code` and `refresh_token`: a short-lived access token and a one-time refresh token.',
      examples: [
        json(
          grantTokenBody({
            accessToken: SAMPLE_ACCESS,
            accessExpiresIn: 300,
            refreshToken: SAMPLE_REFRESH,
            refreshExpiresIn: 2592000,
            scope: 'order.read profile',
          }),
        ),
      ],
    },
  ),
  IntrospectionActive: closed(
    {
      active: { type: 'boolean', const: true },
      scope: string('The token’s scopes and `tenant=T`.'),
      client_id: string('The client the token was issued to.'),
      token_type: F.token_type,
      exp: integer('Expiry, seconds since the epoch.'),
      iat: integer('Issue time, seconds since the epoch.'),
      sub: string('The customer number, or the client id for a service token.'),
      tenant: { ...TENANT_SCHEMA, description: 'The token’s tenant (always the caller’s).' },
      session_id: string('The session, for a storefront or grant token.'),
      legal_entity_id: string('The legal entity the session carries, when it carries one.'),
    },
    ['active', 'scope', 'client_id', 'token_type', 'exp', 'iat', 'sub', 'tenant'],
  ),
  IntrospectionInactive: closed({ active: { type: 'boolean', const: false } }, ['active'], {
    description: 'Anything else: unknown, expired, revoked, or another tenant’s token. Nothing more is said.',
  }),
  Revoked: closed({}, [], { description: 'RFC 7009: the same answer whether or not the token was known.' }),

  // --- discovery ---
  AuthorizationServerMetadata: closed(
    {
      issuer: string('The configured issuer.', { format: 'uri' }),
      authorization_endpoint: string('', { format: 'uri' }),
      token_endpoint: string('', { format: 'uri' }),
      introspection_endpoint: string('', { format: 'uri' }),
      revocation_endpoint: string('', { format: 'uri' }),
      jwks_uri: string('', { format: 'uri' }),
      response_types_supported: { type: 'array', items: { type: 'string' } },
      code_challenge_methods_supported: { type: 'array', items: { type: 'string' } },
      grant_types_supported: { type: 'array', items: { type: 'string' } },
      token_endpoint_auth_methods_supported: { type: 'array', items: { type: 'string' } },
      introspection_endpoint_auth_methods_supported: { type: 'array', items: { type: 'string' } },
      revocation_endpoint_auth_methods_supported: { type: 'array', items: { type: 'string' } },
      authorization_response_iss_parameter_supported: { type: 'boolean' },
    },
    [
      'issuer',
      'authorization_endpoint',
      'token_endpoint',
      'introspection_endpoint',
      'revocation_endpoint',
      'jwks_uri',
      'response_types_supported',
      'code_challenge_methods_supported',
      'grant_types_supported',
      'token_endpoint_auth_methods_supported',
      'introspection_endpoint_auth_methods_supported',
      'revocation_endpoint_auth_methods_supported',
      'authorization_response_iss_parameter_supported',
    ],
    { description: 'RFC 8414 metadata: only what really works.' },
  ),
  Jwk: closed(
    {
      kty: { type: 'string', const: 'EC' },
      crv: { type: 'string', const: 'P-256' },
      x: string('Base64url.'),
      y: string('Base64url.'),
      kid: string('The key’s RFC 7638 thumbprint.'),
      alg: { type: 'string', const: 'ES256' },
      use: { type: 'string', const: 'sig' },
    },
    ['kty', 'crv', 'x', 'y', 'kid', 'alg', 'use'],
  ),
  JwkSet: closed({ keys: { type: 'array', items: ref('Jwk') } }, ['keys'], {
    description:
      'The public keys of every `saas_token` and JWT access token: the current key, its successor and its predecessor while tokens signed with it live.',
  }),

  // --- storefront (Emporix) ---
  AnonymousToken: closed(
    {
      access_token: F.access_token,
      token_type: F.token_type,
      expires_in: F.expires_in,
      refresh_token: F.refresh_token,
      refresh_token_expires_in: F.refresh_token_expires_in,
      sessionId: F.sessionId,
      scope: F.tenantScope,
    },
    ['access_token', 'token_type', 'expires_in', 'refresh_token', 'refresh_token_expires_in', 'sessionId', 'scope'],
    { examples: [json(anonymousBody(PAIR(3599, 86399), SAMPLE_SESSION, 'acme'))] },
  ),
  AnonymousTokenRenewed: closed(
    { access_token: F.access_token, token_type: F.token_type, expires_in: F.expires_in, sessionId: F.sessionId, scope: F.tenantScope },
    ['access_token', 'token_type', 'expires_in', 'sessionId', 'scope'],
    { description: 'The deprecated `anonymous_token` form’s answer: a new access token, no refresh fields.', deprecated: true },
  ),
  LoginRequest: closed(
    {
      email: string('The customer’s email (trimmed, case-insensitive).', { maxLength: MAX_LENGTH.email }),
      password: string('', { minLength: 6, maxLength: MAX_LENGTH.password }),
    },
    ['email', 'password'],
  ),
  CustomerLogin: legacyTokenBody(
    {
      access_token: F.access_token,
      saas_token: F.saas_token,
      token_type: F.token_type,
      expires_in: F.expires_in,
      refresh_token: F.refresh_token,
      refresh_token_expires_in: F.refresh_token_expires_in,
      session_id: F.session_id,
      initialPassword: { type: 'boolean', description: 'True while the password was set by an employee.' },
    },
    { examples: [json(customerLoginBody(PAIR(14399, 86399), SAMPLE_SAAS, SAMPLE_SESSION, false))] },
  ),
  CustomerRefresh: legacyTokenBody(
    {
      access_token: F.access_token,
      token_type: F.token_type,
      expires_in: F.expires_in,
      refresh_token: F.refresh_token,
      refresh_token_expires_in: F.refresh_token_expires_in,
      session_id: F.session_id,
    },
    { examples: [json(customerRefreshBody(PAIR(14399, 86000), SAMPLE_SESSION))] },
  ),
  TokenValidation: closed(
    {
      token_type: F.token_type,
      expires_in: integer('Seconds left.', { minimum: 0 }),
      scope: F.tenantScope,
      sessionId: F.sessionId,
      email: string('The customer’s email.'),
      legalEntityId: { type: ['string', 'null'], description: 'The legal entity the session carries, else null.' },
    },
    ['token_type', 'expires_in', 'scope', 'sessionId', 'email', 'legalEntityId'],
  ),
  SocialLogin: legacyTokenBody(
    {
      access_token: F.access_token,
      saas_token: F.saas_token,
      token_type: F.token_type,
      expires_in: F.expires_in,
      refresh_token: F.refresh_token,
      refresh_token_expires_in: F.refresh_token_expires_in,
      session_idle_time: F.session_idle_time,
      scope: F.tenantScope,
      session_id: F.session_id,
      social_access_token: string('The identity provider’s access token, echoed back.'),
      social_id_token: string('The identity provider’s ID token, echoed back.'),
    },
    {
      examples: [
        json(
          socialLoginBody(PAIR(14399, 86399), SAMPLE_SAAS, SAMPLE_SESSION, 'acme', {
            accessToken: 'provider-access-token',
            idToken: SAMPLE_SAAS,
          }),
        ),
      ],
    },
  ),
  ExchangeAuthToken: legacyTokenBody(
    {
      subject_access_token: string('The presented provider token, echoed back.'),
      access_token: F.access_token,
      saas_token: F.saas_token,
      refresh_token: F.refresh_token,
      refresh_token_expires_in: F.refresh_token_expires_in,
      session_idle_time: F.session_idle_time,
      token_type: F.token_type,
      expires_in: F.expires_in,
      scope: F.tenantScope,
      session_id: F.session_id,
    },
    { examples: [json(exchangeAuthTokenBody(PAIR(14399, 86399), SAMPLE_SAAS, SAMPLE_SESSION, 'acme', SAMPLE_SAAS))] },
  ),

  // --- signup (contract section 11) ---
  SignupRequest: {
    type: 'object',
    description:
      'Emporix’s `CustomerSignup`: the credentials in `signup` when present, else `email` and `password`. Everything else is kept and none of it refused; `customerDetails.contactEmail`, when given, must equal the email.',
    properties: {
      email: string('The login email.', { maxLength: MAX_LENGTH.email }),
      password: string('', { minLength: MIN_PASSWORD, maxLength: MAX_LENGTH.password }),
      customerDetails: {
        type: 'object',
        additionalProperties: true,
        properties: {
          firstName: { type: 'string' },
          lastName: { type: 'string' },
          contactEmail: { type: 'string' },
          contactPhone: { type: 'string' },
          company: { type: 'string' },
          b2b: { type: 'object' },
          preferredCurrency: { type: 'string' },
          preferredSite: { type: 'string' },
          preferredLanguage: { type: 'string' },
        },
      },
      customerAddress: { type: 'object', additionalProperties: true },
      signup: {
        type: 'object',
        required: ['email', 'password'],
        properties: {
          email: string('The login email.', { maxLength: MAX_LENGTH.email }),
          password: string('', { minLength: MIN_PASSWORD, maxLength: MAX_LENGTH.password }),
        },
      },
    },
    examples: [{ email: 'una@example.com', password: 'a-long-secret-pw', customerDetails: { firstName: 'Una', lastName: 'Lee' } }],
  },
  SignupCreated: closed({ id: string('The new customer’s number.') }, ['id']),
  ResendRequest: closed({ email: string('The email of the account.', { maxLength: MAX_LENGTH.email }) }, ['email']),

  // --- the sign-in page's form (contract section 8) ---
  SignInForm: {
    type: 'object',
    required: ['request'],
    properties: {
      request: string(`The form’s hidden request token (the pending request lives ${PENDING_AUTHORIZATION_SECONDS / 60} minutes).`),
      email: string('', { maxLength: MAX_LENGTH.email }),
      password: string('', { maxLength: MAX_LENGTH.password }),
    },
  },

  // --- the API description itself ---
  OpenApiDocument: {
    type: 'object',
    required: ['openapi', 'info', 'paths'],
    properties: { openapi: { type: 'string', const: '3.1.0' }, info: { type: 'object' }, paths: { type: 'object' } },
    description: 'This document.',
  },
};
