import { createRemoteJWKSet, errors as joseErrors, type JWTPayload, type JWTVerifyGetKey, type JWTVerifyOptions, jwtVerify } from 'jose';
import { ExternalTokenRejected, ServiceUnavailable } from '../domain/errors.js';
import type { ExternalIdentity, IdentityProvider, ProviderTokens } from '../domain/federation.js';
import { MAX_LENGTH } from '../domain/identifiers.js';
import type { IdentityProviderClient } from '../ports.js';

/**
 * The broker's calls to a tenant's identity providers (contract section 10, issue 11):
 *
 *  - Only URLs derived from the configured issuer are fetched: its discovery document
 *    `${issuer}/.well-known/openid-configuration`, then the endpoints that document names. The
 *    document's `issuer` must equal the configured one exactly, and its endpoints must be https
 *    (plain http only for a loopback issuer, and then only to a loopback host). Nothing from a
 *    request is ever fetched (SSRF). Documents are cached per issuer (an hour); failures are not.
 *  - ID tokens and JWT access tokens are verified with jose against the provider's JWKS
 *    (`createRemoteJWKSet`: cached, refetched on an unknown `kid` at most once per cooldown), with
 *    an allow-list of asymmetric algorithms: `alg: none` and HMAC (which would make the public
 *    client id or the shared secret a signing key) are refused.
 *  - One deadline per broker request (5 s) across all its provider calls, no retries. A provider
 *    that times out, refuses the connection or answers 5xx is `ServiceUnavailable` (503 with
 *    Retry-After); a provider that refuses what the storefront brought (4xx: a bad or used code)
 *    or a token that fails a check is `ExternalTokenRejected` (401).
 *
 * Nothing here logs; error messages name the failed check, never a token, code or secret.
 */

/** RFC 7518 / RFC 8037 asymmetric JWS algorithms; never `none`, never HS*. */
export const ASYMMETRIC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

/** Looks up the client secret the seed configured for a tenant's provider. */
export type ProviderSecretSource = (tenant: string, providerName: string) => Promise<string | undefined>;

export interface IdentityProviderClientOptions {
  /** The whole budget of one broker request across its provider calls (issue 11: 5 s). */
  budgetMs?: number;
  /** How long a discovery document is reused. */
  discoveryTtlMs?: number;
  /** jose's refetch cooldown for an unknown `kid` (its default is 30 s). */
  jwksCooldownMs?: number;
  /** Seconds a 503 asks the storefront to wait. */
  retryAfterSeconds?: number;
  /** Clock skew accepted on `exp` / `iat` / `nbf`. */
  clockToleranceSeconds?: number;
  now?: () => number;
}

/** The parts of a discovery document the broker uses, checked. */
interface Discovery {
  issuer: string;
  tokenEndpoint: string;
  jwksUri: string;
  introspectionEndpoint?: string;
  /** client_secret_post only when the provider does not offer client_secret_basic. */
  clientAuth: 'basic' | 'post';
}

/** A provider's subject is at most 255 ASCII characters (OpenID Connect Core section 2). */
const MAX_SUBJECT = 255;
/** A provider response larger than this is not a token response (bounds memory per request). */
const MAX_RESPONSE_BYTES = 256 * 1024;

export function identityProviderClient(
  secrets: ProviderSecretSource,
  options: IdentityProviderClientOptions = {},
): IdentityProviderClient & { clearCaches(): void } {
  const budgetMs = options.budgetMs ?? 5000;
  const discoveryTtlMs = options.discoveryTtlMs ?? 3600_000;
  const retryAfter = options.retryAfterSeconds ?? 5;
  const clockTolerance = options.clockToleranceSeconds ?? 30;
  const now = options.now ?? Date.now;
  const discoveries = new Map<string, { document: Discovery; until: number }>();
  const keySets = new Map<string, JWTVerifyGetKey>();

  const unavailable = (cause: unknown) => new ServiceUnavailable('identity provider', cause, retryAfter);

  /** Fetches `url` under the request's deadline; network failures and timeouts are ServiceUnavailable. */
  async function call(url: string, signal: AbortSignal, init: RequestInit = {}): Promise<{ status: number; json: unknown }> {
    let response: Response;
    let text: string;
    try {
      response = await fetch(url, { ...init, signal, redirect: 'error', headers: { accept: 'application/json', ...init.headers } });
      const body = await readBounded(response, MAX_RESPONSE_BYTES);
      if (body === undefined) {
        throw unavailable(new Error(`${describe(url)} answered more than ${MAX_RESPONSE_BYTES} bytes`));
      }
      text = body;
    } catch (error) {
      if (error instanceof ServiceUnavailable) throw error;
      throw unavailable(new Error(`${describe(url)}: ${reason(error, signal)}`));
    }
    if (response.status >= 500) throw unavailable(new Error(`${describe(url)} answered ${response.status}`));
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: response.status, json };
  }

  async function discover(issuer: string, signal: AbortSignal): Promise<Discovery> {
    const cached = discoveries.get(issuer);
    if (cached && cached.until > now()) return cached.document;
    const url = `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
    const { status, json } = await call(url, signal);
    // A provider that cannot describe itself cannot be used, whatever the storefront sent: 503.
    if (status !== 200 || !isObject(json)) throw unavailable(new Error(`discovery at ${describe(url)} answered ${status}`));
    const document = checkDiscovery(issuer, json);
    discoveries.set(issuer, { document, until: now() + discoveryTtlMs });
    return document;
  }

  function keySet(jwksUri: string): JWTVerifyGetKey {
    let set = keySets.get(jwksUri);
    if (!set) {
      set = createRemoteJWKSet(new URL(jwksUri), {
        timeoutDuration: budgetMs,
        ...(options.jwksCooldownMs === undefined ? {} : { cooldownDuration: options.jwksCooldownMs }),
      });
      keySets.set(jwksUri, set);
    }
    return set;
  }

  /**
   * A step that takes no signal (jose's JWKS fetch, the secrets load) under the deadline: when
   * the budget runs out it answers 503 now; the step itself ends by its own timeout.
   */
  async function inBudget<T>(step: Promise<T>, signal: AbortSignal, what: string): Promise<T> {
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_resolve, reject) => {
      onAbort = () => reject(unavailable(new Error(`${what}: ${reason(signal.reason, signal)}`)));
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
    aborted.catch(() => undefined);
    step.catch(() => undefined);
    try {
      return await Promise.race([step, aborted]);
    } finally {
      if (onAbort) signal.removeEventListener('abort', onAbort);
    }
  }

  /** jwtVerify under the deadline: a JWKS fetch that outlives it answers 503 now, not later. */
  async function verifyJwt(token: string, discovery: Discovery, checks: JWTVerifyOptions, signal: AbortSignal): Promise<JWTPayload> {
    try {
      const verification = jwtVerify(token, keySet(discovery.jwksUri), {
        ...checks,
        issuer: discovery.issuer,
        algorithms: ASYMMETRIC_ALGORITHMS,
        clockTolerance,
        currentDate: new Date(now()),
      });
      return (await inBudget(verification, signal, describe(discovery.jwksUri))).payload;
    } catch (error) {
      throw verificationError(error, discovery.jwksUri, signal);
    }
  }

  function verificationError(error: unknown, jwksUri: string, signal: AbortSignal): Error {
    if (error instanceof ServiceUnavailable) return error;
    // The key set could not be fetched (timeout, refused, not 200, not a JWKS): the provider's fault.
    if (error instanceof joseErrors.JWKSTimeout || error instanceof joseErrors.JWKSInvalid) return unavailable(error);
    if (error instanceof joseErrors.JOSEError && error.code === 'ERR_JOSE_GENERIC') {
      return unavailable(new Error(`${describe(jwksUri)}: ${error.message}`));
    }
    if (!(error instanceof joseErrors.JOSEError)) return unavailable(new Error(`${describe(jwksUri)}: ${reason(error, signal)}`));
    // Bad signature, alg not allowed, unknown kid, wrong iss/aud, expired, malformed: the token's fault.
    return new ExternalTokenRejected(`token refused: ${error.code}${'claim' in error ? ` (${String(error.claim)})` : ''}`);
  }

  async function clientAuth(
    tenant: string,
    provider: IdentityProvider,
    discovery: Discovery,
    signal: AbortSignal,
  ): Promise<{ headers: Record<string, string>; form: Record<string, string> }> {
    const secret = await inBudget(secrets(tenant, provider.name), signal, 'the identity provider secrets');
    if (secret === undefined) throw unavailable(new Error(`no client secret for identity provider ${provider.name} of tenant ${tenant}`));
    if (discovery.clientAuth === 'post') return { headers: {}, form: { client_id: provider.clientId, client_secret: secret } };
    // RFC 6749 section 2.3.1: both parts form-encoded before the Basic encoding.
    const basic = Buffer.from(`${formEncode(provider.clientId)}:${formEncode(secret)}`).toString('base64');
    return { headers: { authorization: `Basic ${basic}` }, form: {} };
  }

  async function post(url: string, form: Record<string, string>, headers: Record<string, string>, signal: AbortSignal) {
    return call(url, signal, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams(form).toString(),
    });
  }

  return {
    clearCaches() {
      discoveries.clear();
      keySets.clear();
    },

    async exchangeCode(tenant, provider, request): Promise<ProviderTokens> {
      const signal = AbortSignal.timeout(budgetMs);
      const discovery = await discover(provider.issuer, signal);
      const auth = await clientAuth(tenant, provider, discovery, signal);
      const { status, json } = await post(
        discovery.tokenEndpoint,
        {
          grant_type: 'authorization_code',
          code: request.code,
          redirect_uri: request.redirectUri,
          ...(request.codeVerifier === undefined ? {} : { code_verifier: request.codeVerifier }),
          ...auth.form,
        },
        auth.headers,
        signal,
      );
      if (status !== 200) {
        const error = errorCode(json);
        // The provider refused the broker's own credentials: a configuration fault, not the
        // storefront's code (a 401 would tell it to try another code).
        if (status === 401 || error === 'invalid_client') {
          throw unavailable(new Error(`the token endpoint refused the broker's client credentials (${status} ${error})`));
        }
        // RFC 6749 section 5.2: invalid_grant (bad, used or expired code; wrong redirect_uri or
        // verifier)... Only the error code is kept: the description may echo input.
        if (status >= 400 && status < 500) throw new ExternalTokenRejected(`the identity provider refused the code: ${status} ${error}`);
        throw unavailable(new Error(`the token endpoint answered ${status}`));
      }
      if (!isObject(json) || typeof json.id_token !== 'string' || typeof json.access_token !== 'string') {
        throw new ExternalTokenRejected('the identity provider answered without an id_token and an access_token');
      }
      const payload = await verifyJwt(
        json.id_token,
        discovery,
        { audience: provider.clientId, requiredClaims: ['sub', 'exp', 'iat'] },
        signal,
      );
      // OpenID Connect Core 3.1.3.7: with several audiences, azp (when present) names this client.
      if (Array.isArray(payload.aud) && payload.aud.length > 1 && payload.azp !== undefined && payload.azp !== provider.clientId) {
        throw new ExternalTokenRejected('token refused: azp is another client');
      }
      if (request.nonce !== undefined && payload.nonce !== request.nonce) throw new ExternalTokenRejected('token refused: nonce mismatch');
      return { accessToken: json.access_token, idToken: json.id_token, identity: identityOf(discovery.issuer, payload) };
    },

    async verifyAccessToken(tenant, provider, token): Promise<ExternalIdentity> {
      const signal = AbortSignal.timeout(budgetMs);
      const discovery = await discover(provider.issuer, signal);
      if (provider.validation === 'jwks') {
        const payload = await verifyJwt(
          token,
          discovery,
          { requiredClaims: ['sub', 'exp'], ...(provider.audience === undefined ? {} : { audience: provider.audience }) },
          signal,
        );
        if (provider.authorizedParty !== undefined && payload.azp !== provider.authorizedParty) {
          throw new ExternalTokenRejected('token refused: azp is not the configured authorized party');
        }
        return identityOf(discovery.issuer, payload);
      }
      // RFC 7662, with the broker's client credentials.
      if (!discovery.introspectionEndpoint) throw unavailable(new Error(`${provider.issuer} names no introspection_endpoint`));
      const auth = await clientAuth(tenant, provider, discovery, signal);
      const { status, json } = await post(
        discovery.introspectionEndpoint,
        { token, token_type_hint: 'access_token', ...auth.form },
        auth.headers,
        signal,
      );
      if (status !== 200 || !isObject(json)) {
        // 401/403 here means the provider refused the broker's own credentials: a configuration
        // problem, not the storefront's token; say so as unavailable rather than blame the token.
        if (status === 401 || status === 403) throw unavailable(new Error(`introspection refused the broker's credentials (${status})`));
        if (status >= 400 && status < 500) throw new ExternalTokenRejected(`introspection answered ${status} ${errorCode(json)}`);
        throw unavailable(new Error(`introspection answered ${status}`));
      }
      return introspected(discovery.issuer, provider, json, now());
    },
  };

  function identityOf(issuer: string, payload: JWTPayload): ExternalIdentity {
    const subject = payload.sub;
    if (typeof subject !== 'string' || subject === '' || subject.length > MAX_SUBJECT) {
      throw new ExternalTokenRejected('token refused: no usable sub');
    }
    return { issuer, subject, ...emailOf(payload) };
  }

  function introspected(issuer: string, provider: IdentityProvider, json: Record<string, unknown>, at: number): ExternalIdentity {
    if (json.active !== true) throw new ExternalTokenRejected('token refused: introspection says inactive');
    if (json.iss !== undefined && json.iss !== issuer) throw new ExternalTokenRejected('token refused: iss');
    if (typeof json.exp === 'number' && json.exp + clockTolerance <= at / 1000) throw new ExternalTokenRejected('token refused: exp');
    if (provider.audience !== undefined) {
      const audiences = Array.isArray(json.aud) ? json.aud : [json.aud];
      if (!audiences.includes(provider.audience)) throw new ExternalTokenRejected('token refused: aud');
    }
    if (provider.authorizedParty !== undefined && (json.azp ?? json.client_id) !== provider.authorizedParty) {
      throw new ExternalTokenRejected('token refused: azp');
    }
    return identityOf(issuer, json as JWTPayload);
  }
}

/** The email, lower-cased and trimmed, and whether the provider verified it (literally `true`). */
function emailOf(claims: Record<string, unknown>): { email?: string; emailVerified: boolean } {
  const raw = claims.email;
  if (typeof raw !== 'string') return { emailVerified: false };
  const email = raw.trim().toLowerCase();
  if (email === '' || email.length > MAX_LENGTH.email || !email.includes('@')) return { emailVerified: false };
  return { email, emailVerified: claims.email_verified === true };
}

/**
 * The discovery document's checks: the issuer it names is the configured one exactly (OpenID
 * Connect Discovery section 4.3; a document naming another would let that one's tokens pass), and
 * each endpoint the broker calls is https, or loopback http when the issuer itself is.
 */
export function checkDiscovery(issuer: string, json: Record<string, unknown>): Discovery {
  if (json.issuer !== issuer) {
    throw new ServiceUnavailable('identity provider', new Error(`discovery of ${issuer} names another issuer`), 5);
  }
  const loopbackIssuer = isLoopbackHttp(issuer);
  const endpoint = (name: string, required: boolean): string | undefined => {
    const value = json[name];
    if (value === undefined && !required) return undefined;
    if (typeof value !== 'string' || !allowedEndpoint(value, loopbackIssuer)) {
      throw new ServiceUnavailable('identity provider', new Error(`discovery of ${issuer}: ${name} is missing or not https`), 5);
    }
    return value;
  };
  const methods = json.token_endpoint_auth_methods_supported;
  // Absent, the default is client_secret_basic (OpenID Connect Discovery section 3).
  const clientAuth =
    Array.isArray(methods) && !methods.includes('client_secret_basic') && methods.includes('client_secret_post') ? 'post' : 'basic';
  const introspectionEndpoint = endpoint('introspection_endpoint', false);
  return {
    issuer,
    tokenEndpoint: endpoint('token_endpoint', true)!,
    jwksUri: endpoint('jwks_uri', true)!,
    ...(introspectionEndpoint === undefined ? {} : { introspectionEndpoint }),
    clientAuth,
  };
}

/** 127.0.0.0/8 or ::1, as the URL parser writes them. */
export function isLoopbackHost(hostname: string): boolean {
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname) || hostname === '[::1]';
}

function isLoopbackHttp(uri: string): boolean {
  try {
    const url = new URL(uri);
    return url.protocol === 'http:' && isLoopbackHost(url.hostname);
  } catch {
    return false;
  }
}

function allowedEndpoint(value: string, loopbackIssuer: boolean): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  if (url.username || url.password) return false;
  if (url.protocol === 'https:') return true;
  return loopbackIssuer && url.protocol === 'http:' && isLoopbackHost(url.hostname);
}

/** The body as text, or undefined once it passes `limit` bytes (read no further: a provider's answer is small). */
async function readBounded(response: Response, limit: number): Promise<string | undefined> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The RFC 6749 `error` code when it looks like one; never the free-text description. */
function errorCode(json: unknown): string {
  return isObject(json) && typeof json.error === 'string' && /^[a-z_]{1,64}$/.test(json.error) ? json.error : '(no error code)';
}

/** An endpoint named by host and path only: a query could hold something not ours to log. */
function describe(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return 'the identity provider';
  }
}

function reason(error: unknown, signal: AbortSignal): string {
  if (signal.aborted) return 'the request budget ran out';
  const cause = (error as { cause?: { code?: string } } | undefined)?.cause?.code;
  if (cause) return cause;
  return error instanceof Error ? error.name : 'failed';
}

/** application/x-www-form-urlencoded, as RFC 6749 appendix B asks for the Basic credentials. */
function formEncode(value: string): string {
  return encodeURIComponent(value).replace(/%20/g, '+');
}
