import { MAX_LENGTH } from '../domain/identifiers.js';
import { MAX_BODY_BYTES } from '../http/params.js';
import { ROUTES, routeKey, shapeOf } from '../http/route-table.js';
import type { WireShape } from '../http/errors.js';
import { ISSUER_PLACEHOLDER } from './issuer.js';
import { ERROR_HEADERS, KIND_DESCRIPTIONS, type Kind, type RenderedError, renderErrors, renderUnexpected } from './errors.js';
import { emporixErrorSchema, faultSchema, oauthErrorSchema, SCHEMAS, TENANT_SCHEMA } from './schemas.js';
import type { Json, JsonObject } from './types.js';

/**
 * The OpenAPI 3.1 document of the broker (contract section 12), built from what the handlers use:
 *  - the paths: the route table (http/route-table.ts) — a route without an operation here, or an
 *    operation without a route, is an error when the document is built;
 *  - the error responses: the error tables (http/errors.ts), rendered per route shape (errors.ts);
 *  - the limits and patterns: domain/identifiers.ts, domain/tenant.ts, http/params.ts;
 *  - the examples: the body builders the routes call (schemas.ts).
 * What is written by hand: each operation's summary, parameters and the list of error kinds it
 * can throw, and the success schemas; the integration test holds real answers to all of them.
 *
 * The document is built at build time (`npm run build:docs`, bin/build-docs.ts) into
 * functions/openapi/published.ts, which the discovery function serves: no builder code and
 * no document object in a Lambda bundle, two strings instead.
 */

type Tag = 'OAuth 2.0' | 'Discovery' | 'Storefront' | 'Federated login' | 'Signup' | 'API description';

const TAGS: Record<Tag, string> = {
  'OAuth 2.0':
    'The token endpoint (service tokens, authorization code, refresh), introspection and revocation, and the authorization endpoint with the broker’s sign-in page. RFC 6749 error shape.',
  Discovery: 'Public metadata (RFC 8414) and the JWK Set; cacheable.',
  Storefront: 'Anonymous and customer tokens on the Emporix paths, in the Emporix error shapes.',
  'Federated login': 'Customers signed in by an external OpenID Connect provider: social login and token exchange.',
  Signup: 'Customer signup with double opt-in.',
  'API description': 'This document and its reference page.',
};

interface OperationSpec {
  operationId: string;
  tag: Tag;
  summary: string;
  description: string;
  /** OpenAPI security requirements; `{}` in a list means "or none of the schemes". */
  security: JsonObject[];
  parameters?: JsonObject[];
  requestBody?: JsonObject;
  /** The successful answers (and, for the sign-in page, every page). */
  responses: Record<string, JsonObject>;
  /** The error kinds the route can throw; their responses come from the route shape's table. */
  errors: Kind[];
}

// --- building blocks ------------------------------------------------------------------------------

const schemaRef = (name: string): JsonObject => {
  if (!SCHEMAS[name]) throw new Error(`no schema ${name}`);
  return { $ref: `#/components/schemas/${name}` };
};
const headerRef = (name: string): JsonObject => ({ $ref: `#/components/headers/${name}` });

function query(name: string, description: string, schema: JsonObject, required = false, extra: JsonObject = {}): JsonObject {
  return { name, in: 'query', required, description, schema, ...extra };
}

const tenantPath: JsonObject = { name: 'tenant', in: 'path', required: true, description: 'The tenant.', schema: TENANT_SCHEMA };
const bounded = (maxLength: number, extra: JsonObject = {}): JsonObject => ({ type: 'string', maxLength, ...extra });

function json(description: string, schema: JsonObject, headers: Record<string, JsonObject> = {}): JsonObject {
  return { description, ...(Object.keys(headers).length ? { headers } : {}), content: { 'application/json': { schema } } };
}

const TOKEN_HEADERS = { 'Cache-Control': headerRef('NoStore'), Pragma: headerRef('PragmaNoCache') };
const LEGACY_HEADERS = { ...TOKEN_HEADERS, Deprecation: headerRef('Deprecation'), Sunset: headerRef('Sunset') };
const CACHEABLE_HEADERS = { 'Cache-Control': headerRef('Cacheable') };
const PAGE_HEADERS = { 'Content-Security-Policy': headerRef('PageCsp'), 'Cache-Control': headerRef('NoStore') };

function page(description: string, headers: Record<string, JsonObject> = PAGE_HEADERS): JsonObject {
  return { description, headers, content: { 'text/html': { schema: { type: 'string' } } } };
}

const jsonBody = (schema: string, description?: string): JsonObject => ({
  required: true,
  ...(description ? { description } : {}),
  content: { 'application/json': { schema: schemaRef(schema) } },
});

/** RFC 6749 section 3.2: form-encoded; JSON is accepted too, as older clients send it. */
const formOrJsonBody = (schema: string): JsonObject => ({
  required: true,
  description: `\`application/x-www-form-urlencoded\` (RFC 6749), or the same parameters as a JSON object of strings. At most ${MAX_BODY_BYTES} bytes.`,
  content: { 'application/x-www-form-urlencoded': { schema: schemaRef(schema) }, 'application/json': { schema: schemaRef(schema) } },
});

const CLIENT_AUTH: JsonObject[] = [{ clientSecretBasic: [] }, {}];
const BEARER: JsonObject[] = [{ bearerAuth: [] }];
const BEARER_OR_NONE: JsonObject[] = [{ bearerAuth: [] }, {}];
const PUBLIC: JsonObject[] = [];

const anonymousTenantParams = [
  query('tenant', 'The tenant (or `hybris-tenant`). Both present and different: 400.', TENANT_SCHEMA),
  query('hybris-tenant', 'The tenant, as Emporix’s own storefronts send it.', TENANT_SCHEMA),
  query('client_id', 'A storefront client of the tenant.', bounded(MAX_LENGTH.clientId), true),
];

const optionalConfig = query(
  'config',
  'The identity provider’s name in the tenant’s seed (`identityProviders`); the default one when absent. Unknown: 400.',
  bounded(MAX_LENGTH.providerName, { pattern: '^[A-Za-z0-9._-]+$' }),
);

// --- the operations, by route key -----------------------------------------------------------------

const OPERATIONS: Record<string, OperationSpec> = {
  'POST /oauth/token': {
    operationId: 'token',
    tag: 'OAuth 2.0',
    summary: 'Token endpoint',
    description:
      '`client_credentials` for service clients (contract section 3; a repeated request for the same scopes gets the same still-fresh token back); `authorization_code` with PKCE and `refresh_token` for app clients (section 5). Refresh tokens are one-time: a retry within the grace window gets the same successor, a reuse after it revokes the whole family. A client uses only the grant types it is registered for.',
    security: CLIENT_AUTH,
    parameters: [query('tenant', 'Optional: the client must belong to this tenant, else `invalid_client`.', TENANT_SCHEMA)],
    requestBody: formOrJsonBody('TokenRequest'),
    responses: {
      200: json(
        'Tokens. A service client gets `ServiceToken` (profile `emporix`) or `ServiceTokenOAuth2` (profile `oauth2`); an app client `GrantToken`.',
        { oneOf: [schemaRef('ServiceToken'), schemaRef('ServiceTokenOAuth2'), schemaRef('GrantToken')] },
        TOKEN_HEADERS,
      ),
    },
    errors: [
      'InvalidRequest',
      'UnsupportedGrantType',
      'UnauthorizedClient',
      'InvalidGrant',
      'InvalidScope',
      'InvalidClient',
      'RequestTooLarge',
      'ServiceUnavailable',
    ],
  },
  'POST /oauth/introspect': {
    operationId: 'introspect',
    tag: 'OAuth 2.0',
    summary: 'Token introspection (RFC 7662)',
    description:
      'For service clients, authenticated with their secret. Any live token of the caller’s own tenant is active (opaque or JWT, of any kind); everything else is `{"active": false}`, another tenant’s tokens included.',
    security: CLIENT_AUTH,
    parameters: [query('tenant', 'Optional: the client must belong to this tenant.', TENANT_SCHEMA)],
    requestBody: formOrJsonBody('TokenOperationRequest'),
    responses: {
      200: json(
        'The token’s claims, or inactive.',
        { oneOf: [schemaRef('IntrospectionActive'), schemaRef('IntrospectionInactive')] },
        TOKEN_HEADERS,
      ),
    },
    errors: ['InvalidRequest', 'InvalidClient', 'RequestTooLarge', 'ServiceUnavailable'],
  },
  'POST /oauth/revoke': {
    operationId: 'revoke',
    tag: 'OAuth 2.0',
    summary: 'Token revocation (RFC 7009)',
    description:
      'A client revokes the tokens issued to it (a public app client by its `client_id`); revoking another token of its tenant needs the scope `broker.token_revoke`, and without it the token stays alive and the answer is the same. Revoking a refresh token ends its family’s access tokens too.',
    security: CLIENT_AUTH,
    parameters: [query('tenant', 'Optional: the client must belong to this tenant.', TENANT_SCHEMA)],
    requestBody: formOrJsonBody('TokenOperationRequest'),
    responses: { 200: json('Done, or the token was unknown: the same answer.', schemaRef('Revoked'), TOKEN_HEADERS) },
    errors: ['InvalidRequest', 'InvalidClient', 'RequestTooLarge', 'ServiceUnavailable'],
  },
  'GET /oauth/authorize': {
    operationId: 'authorize',
    tag: 'OAuth 2.0',
    summary: 'Authorization endpoint and sign-in page',
    description:
      'The authorization code flow with PKCE (S256 only) for app clients (contract section 8). Answers the broker’s own sign-in page (HTML, no script, no third-party asset) and sets a CSRF cookie bound to the pending request (10 minutes). An unknown client or an unregistered redirect URI gets an HTML error page and no redirect; any other error is a redirect to the app with `error`, `state` and `iss`.',
    security: PUBLIC,
    parameters: [
      query('response_type', 'Must be `code`.', { type: 'string', const: 'code' }, true),
      query('client_id', 'An app client.', bounded(MAX_LENGTH.clientId), true),
      query(
        'redirect_uri',
        'Exactly one of the client’s registered redirect URIs; a loopback one on any port (RFC 8252 section 7.3).',
        bounded(MAX_LENGTH.redirectUri),
        true,
      ),
      query('scope', 'Space-separated; the client’s scopes when absent.', bounded(MAX_LENGTH.scope)),
      query('state', 'Echoed in the redirect.', bounded(MAX_LENGTH.state)),
      query(
        'code_challenge',
        'The PKCE challenge: base64url SHA-256 of the verifier, 43 characters.',
        { type: 'string', pattern: '^[A-Za-z0-9_-]{43}$' },
        true,
      ),
      query('code_challenge_method', 'Must be `S256`.', { type: 'string', const: 'S256' }, true),
    ],
    responses: {
      200: page('The sign-in page, with its CSRF cookie.', { ...PAGE_HEADERS, 'Set-Cookie': headerRef('CsrfCookie') }),
      303: {
        description:
          'An error for the app: a redirect to its redirect URI with `error`, `state` and `iss` (RFC 6749 section 4.1.2.1, RFC 9207).',
        headers: { Location: headerRef('Location') },
      },
      400: page('An HTML error page: unknown client, missing or unregistered redirect URI. Nothing is sent to the app.'),
      503: page('An HTML page: the store is unavailable; retry.', { ...PAGE_HEADERS, 'Retry-After': headerRef('RetryAfter') }),
    },
    errors: [],
  },
  'POST /oauth/authorize': {
    operationId: 'signIn',
    tag: 'OAuth 2.0',
    summary: 'Sign-in form post',
    description:
      'The sign-in page’s form, with the CSRF cookie it was served with. Success redirects to the app with `code` (60 s, one use), `state` and `iss`. Wrong credentials show the page again with one message for a wrong email and a wrong password; the login lockout of the storefront login applies to the same account.',
    security: PUBLIC,
    parameters: [
      { name: 'tb_csrf', in: 'cookie', required: true, description: 'The CSRF cookie set with the page.', schema: { type: 'string' } },
    ],
    requestBody: { required: true, content: { 'application/x-www-form-urlencoded': { schema: schemaRef('SignInForm') } } },
    responses: {
      200: page('Wrong email or password: the page again, with the message.'),
      303: {
        description: 'Signed in: a redirect to the app with `code`, `state` and `iss`; the CSRF cookie is cleared.',
        headers: { Location: headerRef('Location'), 'Set-Cookie': headerRef('CsrfCookie') },
      },
      400: page('The form is not valid, expired, used, or its cookie is missing: start again from the app.'),
      413: page(`The form is over ${MAX_BODY_BYTES} bytes.`),
      429: page('Too many failed attempts for the account: the page with the wait.', {
        ...PAGE_HEADERS,
        'Retry-After': headerRef('RetryAfter'),
      }),
      503: page('The store is unavailable; retry.', { ...PAGE_HEADERS, 'Retry-After': headerRef('RetryAfter') }),
    },
    errors: [],
  },
  'GET /.well-known/oauth-authorization-server': {
    operationId: 'metadata',
    tag: 'Discovery',
    summary: 'Authorization server metadata (RFC 8414)',
    description: 'The endpoints, grant types and client authentication methods that really work; every URL under the configured issuer.',
    security: PUBLIC,
    responses: { 200: json('The metadata.', schemaRef('AuthorizationServerMetadata'), CACHEABLE_HEADERS) },
    errors: [],
  },
  'GET /.well-known/jwks.json': {
    operationId: 'jwks',
    tag: 'Discovery',
    summary: 'JSON Web Key Set',
    description: 'The public keys that verify `saas_token`s and JWT access tokens.',
    security: PUBLIC,
    responses: { 200: json('The keys.', schemaRef('JwkSet'), CACHEABLE_HEADERS) },
    errors: ['ServiceUnavailable'],
  },
  'GET /customerlogin/auth/anonymous/login': {
    operationId: 'anonymousLogin',
    tag: 'Storefront',
    summary: 'Anonymous login',
    description:
      'Starts an anonymous storefront session (contract section 1). The optional context parameters are stored with the session.',
    security: PUBLIC,
    parameters: [
      ...anonymousTenantParams,
      ...['currency', 'siteCode', 'language', 'targetLocation'].map((name) => query(name, 'Stored in the session.', bounded(64))),
    ],
    responses: { 200: json('An anonymous token pair and the session.', schemaRef('AnonymousToken'), TOKEN_HEADERS) },
    errors: ['InvalidRequest', 'UnknownStorefrontClient', 'ServiceUnavailable'],
  },
  'GET /customerlogin/auth/anonymous/refresh': {
    operationId: 'anonymousRefresh',
    tag: 'Storefront',
    summary: 'Anonymous refresh',
    description:
      'A new pair for the same session; the refresh token is consumed. The deprecated form sends `anonymous_token` (a still-known anonymous access token) instead and gets a new access token only, with a `Deprecation` header.',
    security: PUBLIC,
    parameters: [
      ...anonymousTenantParams,
      query('refresh_token', 'The refresh token (required unless `anonymous_token` is sent).', { type: 'string' }),
      query('anonymous_token', 'Deprecated: an anonymous access token of the session.', { type: 'string' }, false, { deprecated: true }),
    ],
    responses: {
      200: json(
        'The same session with new tokens (`AnonymousTokenRenewed` for the deprecated form).',
        { oneOf: [schemaRef('AnonymousToken'), schemaRef('AnonymousTokenRenewed')] },
        { ...TOKEN_HEADERS, Deprecation: headerRef('Deprecation') },
      ),
    },
    errors: ['InvalidRequest', 'UnknownStorefrontClient', 'InvalidGrant', 'InvalidToken', 'ServiceUnavailable'],
  },
  'POST /customer/{tenant}/login': {
    operationId: 'customerLogin',
    tag: 'Storefront',
    summary: 'Customer login',
    description:
      'With the anonymous access token as bearer: the anonymous session carries over. Repeated failures for one account are slowed, then locked for a while (429), without locking other accounts.',
    security: BEARER,
    parameters: [tenantPath],
    requestBody: jsonBody('LoginRequest', `A JSON object, at most ${MAX_BODY_BYTES} bytes.`),
    responses: { 200: json('The customer’s tokens and `saas_token`.', schemaRef('CustomerLogin'), LEGACY_HEADERS) },
    errors: ['InvalidRequest', 'InvalidToken', 'InvalidCredentials', 'LoginThrottled', 'RequestTooLarge', 'ServiceUnavailable'],
  },
  'GET /customer/{tenant}/refreshauthtoken': {
    operationId: 'customerRefresh',
    tag: 'Storefront',
    summary: 'Customer refresh',
    description:
      'The refresh token is the credential (consumed); a bearer token is accepted, even expired, and not needed. With `legalEntityId` the new token carries that legal entity.',
    security: BEARER_OR_NONE,
    parameters: [
      tenantPath,
      query('refreshToken', 'The customer refresh token.', { type: 'string' }, true),
      query('legalEntityId', 'A legal entity the customer is assigned to.', bounded(MAX_LENGTH.legalEntityId)),
    ],
    responses: { 200: json('New tokens for the same session.', schemaRef('CustomerRefresh'), LEGACY_HEADERS) },
    errors: ['InvalidRequest', 'InvalidGrant', 'LegalEntityNotAssigned', 'ServiceUnavailable'],
  },
  'GET /customer/{tenant}/validateauthtoken': {
    operationId: 'validateToken',
    tag: 'Storefront',
    summary: 'Validate a customer token',
    description: 'The bearer customer access token’s session; 401 when it is unknown, expired, logged out or another tenant’s.',
    security: BEARER,
    parameters: [tenantPath],
    responses: { 200: json('The token’s session.', schemaRef('TokenValidation'), TOKEN_HEADERS) },
    errors: ['InvalidRequest', 'InvalidToken', 'ServiceUnavailable'],
  },
  'GET /customer/{tenant}/logout': {
    operationId: 'logout',
    tag: 'Storefront',
    summary: 'Logout',
    description:
      'Ends the session: the access token fails validation and its refresh token no longer refreshes. The token comes as `accessToken`, as bearer, or both (the same).',
    security: BEARER_OR_NONE,
    parameters: [tenantPath, query('accessToken', 'The access token to end.', { type: 'string' })],
    responses: { 204: { description: 'Logged out.' } },
    errors: ['InvalidRequest', 'InvalidToken', 'ServiceUnavailable'],
  },
  'POST /customer/{tenant}/socialLogin': {
    operationId: 'socialLogin',
    tag: 'Federated login',
    summary: 'Social login',
    description:
      'Exchanges the identity provider’s authorization code at the provider, verifies its ID token, and logs the linked (or provisioned) customer in; the anonymous session carries over. Parameters come in the query string, as Emporix’s do. The provider unreachable or slow (5 s budget): 503.',
    security: BEARER_OR_NONE,
    parameters: [
      tenantPath,
      query('code', 'The provider’s authorization code.', bounded(MAX_LENGTH.externalCode, { pattern: '^[\\x21-\\x7e]+$' }), true),
      query(
        'redirect_uri',
        'The redirect URI the code was issued to; the provider’s configured one by default.',
        bounded(MAX_LENGTH.redirectUri, { format: 'uri' }),
      ),
      query('code_verifier', 'Passed to the provider for PKCE.', { type: 'string', pattern: '^[A-Za-z0-9._~-]{43,128}$' }),
      query('nonce', 'Checked against the ID token’s `nonce`.', bounded(MAX_LENGTH.nonce, { pattern: '^[\\x21-\\x7e]+$' })),
      optionalConfig,
      query(
        'anonymous_token',
        'Stands in for the bearer header when it is missing (Emporix’s storefront sends it).',
        bounded(MAX_LENGTH.token),
      ),
    ],
    responses: { 200: json('The customer’s tokens and the provider’s own, echoed.', schemaRef('SocialLogin'), LEGACY_HEADERS) },
    errors: ['InvalidRequest', 'InvalidToken', 'ExternalTokenRejected', 'UnknownCustomer', 'ServiceUnavailable'],
  },
  'POST /customer/{tenant}/exchangeauthtoken': {
    operationId: 'exchangeToken',
    tag: 'Federated login',
    summary: 'Token exchange',
    description:
      'Verifies an access token of the configured provider (as a JWT against its JWKS, or by its introspection endpoint) and logs the customer it names in; the anonymous session carries over.',
    security: BEARER,
    parameters: [
      tenantPath,
      query('subjectAccessToken', 'The provider’s access token.', bounded(MAX_LENGTH.externalToken, { pattern: '^[\\x21-\\x7e]+$' }), true),
      optionalConfig,
    ],
    responses: { 200: json('The customer’s tokens.', schemaRef('ExchangeAuthToken'), LEGACY_HEADERS) },
    errors: ['InvalidRequest', 'InvalidToken', 'ExternalTokenRejected', 'UnknownCustomer', 'ServiceUnavailable'],
  },
  'POST /customer/{tenant}/signup': {
    operationId: 'signup',
    tag: 'Signup',
    summary: 'Sign up',
    description:
      'Creates an inactive account and mails a one-time confirmation link (24 h). An account not confirmed within 7 days is deleted. Limited per source address.',
    security: BEARER,
    parameters: [tenantPath],
    requestBody: jsonBody('SignupRequest', 'A JSON object, at most 16 KiB, nested at most 8 deep, no repeated member.'),
    responses: { 201: json('Created.', schemaRef('SignupCreated'), TOKEN_HEADERS) },
    errors: ['InvalidRequest', 'InvalidToken', 'Conflict', 'Throttled', 'RequestTooLarge', 'ServiceUnavailable'],
  },
  'GET /customer/{tenant}/signup/optin/{token}': {
    operationId: 'confirmSignup',
    tag: 'Signup',
    summary: 'Confirm a signup',
    description:
      'Activates the account and logs the customer in, carrying the anonymous session over. A link works once, also under concurrent clicks.',
    security: BEARER,
    parameters: [
      tenantPath,
      {
        name: 'token',
        in: 'path',
        required: true,
        description: 'The token from the link.',
        schema: bounded(MAX_LENGTH.token, { pattern: '^[A-Za-z0-9_.-]+$' }),
      },
    ],
    responses: { 200: json('The login body.', schemaRef('CustomerLogin'), LEGACY_HEADERS) },
    errors: ['InvalidRequest', 'InvalidToken', 'ServiceUnavailable'],
  },
  'POST /customer/{tenant}/signup/optin/refresh_token': {
    operationId: 'resendOptIn',
    tag: 'Signup',
    summary: 'Resend the confirmation link',
    description:
      '202 whatever the email, so the answer reveals no account. An inactive account gets a new link and earlier links stop working; at most one mail a minute per address.',
    security: PUBLIC,
    parameters: [tenantPath],
    requestBody: jsonBody('ResendRequest'),
    responses: { 202: { description: 'Accepted.', headers: TOKEN_HEADERS } },
    errors: ['InvalidRequest', 'Throttled', 'RequestTooLarge', 'ServiceUnavailable'],
  },
  'GET /openapi.json': {
    operationId: 'openApiDocument',
    tag: 'API description',
    summary: 'This OpenAPI document',
    description: 'Built from the route table and the error tables; the same for every deployment but for the issuer.',
    security: PUBLIC,
    responses: { 200: json('The document.', schemaRef('OpenApiDocument'), CACHEABLE_HEADERS) },
    errors: [],
  },
  'GET /docs': {
    operationId: 'apiReference',
    tag: 'API description',
    summary: 'API reference page',
    description: 'This document as one self-contained HTML page: no script, no third-party asset.',
    security: PUBLIC,
    responses: { 200: page('The page.', { 'Content-Security-Policy': headerRef('PageCsp'), ...CACHEABLE_HEADERS }) },
    errors: [],
  },
};

// --- error responses from the tables --------------------------------------------------------------

function sentence(parts: string[]): string {
  const text = parts.join('; ');
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}.`;
}

/**
 * The body schema of one or more error statuses, closed and with the codes the tables render
 * there as enums (so an unexpected code in a real answer fails validation).
 */
function errorSchema(shape: WireShape, statuses: number[], bodies: Record<string, Json>[]): JsonObject {
  const distinct = (values: Json[]) => [...new Set(values)] as Json[];
  if (shape === 'oauth') return oauthErrorSchema(distinct(bodies.map((b) => b.error!)));
  const variants: JsonObject[] = [];
  const faults = bodies.filter((b) => 'fault' in b).map((b) => b.fault as Record<string, Record<string, Json>>);
  if (faults.length > 0) variants.push(faultSchema(distinct(faults.map((f) => f.detail!.errorcode!))));
  const plain = bodies.filter((b) => !('fault' in b));
  if (plain.length > 0) {
    const emporixStatuses = distinct(plain.map((b) => b.status!)) as number[];
    variants.push(emporixErrorSchema(emporixStatuses.length ? emporixStatuses : statuses, distinct(plain.map((b) => b.type!))));
  }
  return variants.length === 1 ? variants[0]! : { oneOf: variants };
}

function errorResponses(shape: WireShape, kinds: readonly Kind[]): Record<string, JsonObject> {
  const byStatus = new Map<number, RenderedError[]>();
  for (const rendered of renderErrors(shape, kinds)) {
    byStatus.set(rendered.response.status, [...(byStatus.get(rendered.response.status) ?? []), rendered]);
  }
  const responses: Record<string, JsonObject> = {};
  for (const [status, rendered] of [...byStatus].sort(([a], [b]) => a - b)) {
    const headers: Record<string, Json> = {};
    for (const r of rendered) {
      for (const name of Object.keys(r.response.headers)) {
        const header = ERROR_HEADERS[name];
        if (!header) throw new Error(`the error tables set a header the document does not describe: ${name}`);
        headers[name] = header;
      }
    }
    const kindsHere = [...new Set(rendered.map((r) => r.kind))];
    responses[String(status)] = {
      description: sentence(kindsHere.map((kind) => KIND_DESCRIPTIONS[kind])),
      ...(Object.keys(headers).length ? { headers } : {}),
      content: {
        'application/json': {
          schema: errorSchema(
            shape,
            [status],
            rendered.map((r) => r.response.body as Record<string, Json>),
          ),
          examples: Object.fromEntries(rendered.map((r) => [r.name, { summary: r.summary, value: r.response.body as Json }])),
        },
      },
    };
  }
  return responses;
}

const SHAPE_NAMES: Record<WireShape, string> = { oauth: 'OAuth', emporix: 'Emporix' };

/** 404/405 (a request no route serves) and the 500 of a bug, in each shape: shared responses. */
function sharedResponses(): Record<string, JsonObject> {
  const responses: Record<string, JsonObject> = {};
  for (const shape of ['oauth', 'emporix'] as const) {
    const rendered = renderErrors(shape, ['NotFound', 'MethodNotAllowed']);
    const bodies = rendered.map((r) => r.response.body as Record<string, Json>);
    responses[`${SHAPE_NAMES[shape]}Unrouted`] = {
      description:
        'A request no route serves: 405 for this path with a method it does not take (`Allow` lists those), 404 for a path the broker does not serve.',
      headers: { Allow: ERROR_HEADERS.Allow! },
      content: {
        'application/json': {
          schema: errorSchema(
            shape,
            rendered.map((r) => r.response.status),
            bodies,
          ),
          examples: Object.fromEntries(rendered.map((r) => [r.name, { summary: r.summary, value: r.response.body as Json }])),
        },
      },
    };
    const unexpected = renderUnexpected(shape);
    responses[`${SHAPE_NAMES[shape]}Unexpected`] = {
      description: `${unexpected.status}: an unexpected error (a bug, logged); never the answer to bad input.`,
      content: {
        'application/json': {
          schema: schemaRef(shape === 'oauth' ? 'OAuthError' : 'EmporixError'),
          examples: { Unexpected: { summary: 'Unexpected', value: unexpected.body as Json } },
        },
      },
    };
  }
  return responses;
}

// --- the document ---------------------------------------------------------------------------------

const DESCRIPTION = `The token endpoint of a commerce platform and of the services around it: anonymous and customer tokens for storefronts (on the Emporix paths, so Emporix storefront code works unchanged), service tokens for internal services, introspection and revocation for downstream services, the authorization code flow with the broker’s own sign-in page, federated login and signup.

Conventions:
- **Tenant**: \`^[a-z][a-z0-9]+$\`, 3 to 16 characters, in the path or the \`tenant\` query parameter; anything else is a 400 before any storage is touched. A token of one tenant never works on another.
- **Tokens** are opaque random strings (base64url), except \`saas_token\` and JWT access tokens (RFC 9068, for clients configured for them). Every token response carries \`Cache-Control: no-store\` and \`Pragma: no-cache\`.
- **Errors**: \`/oauth/*\` and \`/.well-known/*\` answer in the RFC 6749 shape \`{ error, error_description }\`; the Emporix paths in Emporix's shapes: a 401 fault for a bad token, \`{ status, type, message, details }\` for everything else. A dependency failure is a 503 with \`Retry-After\`, and a token is only handed out once durably written. An unknown path is a JSON 404, a known path with another method a JSON 405.
- **Identifiers** (client id, email, token, code, state) are bounded: an over-long one is a 4xx of the route's shape.`;

export interface DocumentOptions {
  /** The server URL: the configured issuer, or ISSUER_PLACEHOLDER for the built document. */
  issuer?: string;
  /** info.version: the package's version. */
  version: string;
}

/** The OpenAPI 3.1 document: every route of the route table, in table order. */
export function buildOpenApiDocument(options: DocumentOptions): JsonObject {
  const keys = new Set(ROUTES.map(routeKey));
  const orphans = Object.keys(OPERATIONS).filter((key) => !keys.has(key));
  if (orphans.length > 0) throw new Error(`OpenAPI operations without a route: ${orphans.join(', ')}`);

  const paths: Record<string, Record<string, Json>> = {};
  for (const route of ROUTES) {
    const key = routeKey(route);
    const spec = OPERATIONS[key];
    if (!spec) throw new Error(`route ${key} has no OpenAPI operation (functions/openapi/document.ts)`);
    const shape = shapeOf(route.path);
    const operation: JsonObject = {
      operationId: spec.operationId,
      tags: [spec.tag],
      summary: spec.summary,
      description: spec.description,
      security: spec.security,
      ...(spec.parameters ? { parameters: spec.parameters } : {}),
      ...(spec.requestBody ? { requestBody: spec.requestBody } : {}),
      responses: {
        ...spec.responses,
        ...errorResponses(shape, spec.errors),
        '4XX': { $ref: `#/components/responses/${SHAPE_NAMES[shape]}Unrouted` },
        default: { $ref: `#/components/responses/${SHAPE_NAMES[shape]}Unexpected` },
      },
    };
    paths[route.path] = { ...paths[route.path], [route.method.toLowerCase()]: operation };
  }

  return {
    openapi: '3.1.0',
    info: {
      title: 'token-broker',
      version: options.version,
      summary: 'OAuth 2.0 token service: storefront, customer, service and app tokens.',
      description: DESCRIPTION,
      license: { name: 'UNLICENSED (proprietary)', identifier: 'LicenseRef-Proprietary' },
    },
    servers: [{ url: options.issuer ?? ISSUER_PLACEHOLDER, description: 'The configured issuer.' }],
    tags: Object.entries(TAGS).map(([name, description]) => ({ name, description })),
    paths,
    components: {
      schemas: SCHEMAS,
      responses: sharedResponses(),
      headers: {
        NoStore: { description: '`no-store`: tokens and pages are never cached.', schema: { type: 'string', const: 'no-store' } },
        PragmaNoCache: { description: '`no-cache`, for HTTP/1.0 caches.', schema: { type: 'string', const: 'no-cache' } },
        Cacheable: { description: 'Public and cacheable, for a few minutes.', schema: { type: 'string' } },
        Deprecation: {
          description: 'RFC 9745: the camelCase copies (or the form used) are deprecated since this date.',
          schema: { type: 'string' },
        },
        Sunset: { description: 'RFC 8594: the end of the tenant’s `legacyTokenFieldsUntil` window.', schema: { type: 'string' } },
        RetryAfter: ERROR_HEADERS['Retry-After']!,
        Location: { description: 'The app’s redirect URI with the result.', schema: { type: 'string', format: 'uri' } },
        CsrfCookie: { description: 'The `tb_csrf` cookie: HttpOnly, SameSite=Strict, Path=/oauth/authorize.', schema: { type: 'string' } },
        PageCsp: {
          description:
            "A strict Content-Security-Policy: `default-src 'none'`, the inline stylesheet by its hash, `frame-ancestors 'none'`.",
          schema: { type: 'string' },
        },
      },
      securitySchemes: {
        clientSecretBasic: {
          type: 'http',
          scheme: 'basic',
          description:
            '`client_secret_basic` (RFC 6749 section 2.3.1): the client id and secret, form-urlencoded, as Basic credentials. The alternatives, which OpenAPI has no scheme for: `client_secret_post` (`client_id` and `client_secret` in the body) and, for a public app client, `none` (`client_id` alone).',
        },
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          description:
            'An access token the broker issued (RFC 6750): the anonymous access token whose session carries over, or a customer access token.',
        },
      },
    },
  };
}

/** The route keys the document describes, for the tests. */
export const DOCUMENTED_ROUTE_KEYS: readonly string[] = Object.keys(OPERATIONS);
