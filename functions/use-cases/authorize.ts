import { randomBytes } from 'node:crypto';
import { audit } from '../audit.js';
import {
  CODE_SECONDS,
  isS256Challenge,
  issueRefusal,
  PENDING_AUTHORIZATION_SECONDS,
  redirectUriMatches,
  type Authorization,
  type IssueClause,
} from '../domain/authorization.js';
import { InvalidCredentials, InvalidScope, LoginThrottled } from '../domain/errors.js';
import { MAX_LENGTH, tooLong, type IdentifierKind } from '../domain/identifiers.js';
import { attemptLimits } from '../domain/login-throttle.js';
import { grantScopes } from '../domain/scopes.js';
import { hashToken, mintToken, parseToken } from '../domain/tokens.js';
import type { AppClient } from '../domain/tenant.js';
import { checkCredentials } from './credentials.js';
import type { AuthorizeDeps } from './deps.js';

/**
 * The authorization endpoint (contract section 8; RFC 6749 section 4.1, RFC 7636, RFC 9207):
 * `start` validates an authorization request and stores it as a pending request, `signIn` checks
 * the customer's credentials on the broker's own page and turns the request into a code. The
 * HTTP side (routes/authorize.ts) renders what these decide; nothing here knows HTML.
 */

export type { AuthorizeDeps } from './deps.js';

/** The request parameters, every value of each (a repeated parameter is refused, RFC 6749 section 3.1). */
export type QueryValues = ReadonlyMap<string, readonly string[]>;

/** Why a request is answered on the broker's page rather than redirected: the redirect URI cannot be trusted. */
export type StartRefusal =
  | 'client_id_missing'
  | 'client_id_invalid'
  | 'client_unknown'
  | 'redirect_uri_missing'
  | 'redirect_uri_invalid'
  | 'redirect_uri_unregistered';

export type StartOutcome =
  /** RFC 6749 section 4.1.2.1: no redirect to an unverified URI; the broker tells the customer itself. */
  | { kind: 'refused'; reason: StartRefusal }
  /** An error sent back to the verified redirect URI. */
  | { kind: 'redirect'; location: string }
  /** The request is stored: show the sign-in form, with `csrf` in the browser's cookie. */
  | { kind: 'sign-in'; client: AppClient; redirectUri: string; requestToken: string; csrf: string };

/** The CSRF token: a random value in an HttpOnly cookie, stored only as its hash with the request. */
function newCsrfToken(): string {
  return randomBytes(32).toString('base64url');
}

const CLIENT_ID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * RFC 6749 section 4.1.2.1's order: first what decides whether the redirect URI can be trusted
 * (a known client, a redirect URI registered for it), refused on the broker's own page; then
 * everything else, each error redirected to that URI with `state` and `iss` (RFC 9207 section 2).
 */
export async function startAuthorization(deps: AuthorizeDeps, query: QueryValues, issuer: string): Promise<StartOutcome> {
  const clientValues = query.get('client_id') ?? [];
  if (clientValues.length === 0 || clientValues[0] === '') return { kind: 'refused', reason: 'client_id_missing' };
  const clientId = clientValues[0]!;
  if (clientValues.length > 1 || !CLIENT_ID.test(clientId)) return { kind: 'refused', reason: 'client_id_invalid' };
  const client = await deps.directory.getAppClient(clientId);
  // A client whose tenant is gone is no client: nothing it would get could be used.
  const tenant = client && (await deps.directory.getTenant(client.tenant));
  if (!client || !tenant) return { kind: 'refused', reason: 'client_unknown' };

  const redirectValues = query.get('redirect_uri') ?? [];
  if (redirectValues.length === 0 || redirectValues[0] === '') return { kind: 'refused', reason: 'redirect_uri_missing' };
  const redirectUri = redirectValues[0]!;
  if (redirectValues.length > 1 || tooLong('redirectUri', redirectUri)) return { kind: 'refused', reason: 'redirect_uri_invalid' };
  if (!redirectUriMatches(client.redirectUris, redirectUri)) return { kind: 'refused', reason: 'redirect_uri_unregistered' };

  // From here on every error goes back to the app, with `state` only when it is one bounded value.
  const stateValues = query.get('state') ?? [];
  const stateValue = stateValues.length === 1 && stateValues[0] !== '' ? stateValues[0] : undefined;
  const state = stateValue !== undefined && !tooLong('state', stateValue) ? stateValue : undefined;
  const fail = (error: string, description: string): StartOutcome => {
    audit(deps.log, 'authorization_refused', { tenant: client.tenant, clientId, error });
    return { kind: 'redirect', location: redirectLocation(redirectUri, { error, error_description: description, state, iss: issuer }) };
  };
  if (stateValues.length > 1) return fail('invalid_request', 'state is repeated');
  if (stateValue !== undefined && state === undefined)
    return fail('invalid_request', `state is longer than ${MAX_LENGTH.state} characters`);

  const single: Record<string, string | undefined> = {};
  for (const [name, kind] of SINGLE_PARAMETERS) {
    const values = query.get(name) ?? [];
    if (values.length > 1) return fail('invalid_request', `${name} is repeated`);
    const value = values[0] === '' ? undefined : values[0];
    if (value !== undefined && tooLong(kind, value)) return fail('invalid_request', `${name} is too long`);
    single[name] = value;
  }

  const responseType = single.response_type;
  if (responseType === undefined) return fail('invalid_request', 'response_type is required');
  if (responseType !== 'code') return fail('unsupported_response_type', 'only response_type=code is supported');
  // RFC 9700 section 2.1.1: PKCE for every client, and S256 only (RFC 7636 section 4.2: plain
  // exposes the verifier to whoever sees the authorization request).
  const challenge = single.code_challenge;
  const method = single.code_challenge_method;
  if (challenge === undefined) return fail('invalid_request', 'code_challenge is required (PKCE with S256)');
  if (method === undefined) return fail('invalid_request', 'code_challenge_method is required and must be S256');
  if (method !== 'S256') return fail('invalid_request', 'code_challenge_method must be S256');
  if (!isS256Challenge(challenge)) return fail('invalid_request', 'code_challenge is not an S256 challenge');

  let scopes: string[];
  try {
    scopes = grantScopes(single.scope, client.scopes);
  } catch (error) {
    if (error instanceof InvalidScope) return fail('invalid_scope', 'a requested scope is not allowed for this client');
    throw error;
  }

  const request = mintToken();
  const csrf = newCsrfToken();
  const now = deps.clock();
  await deps.authorizations.createAuthorization({
    selector: request.selector,
    requestHash: request.hash,
    csrfHash: hashToken(csrf),
    tenant: client.tenant,
    clientId,
    redirectUri,
    ...(state !== undefined ? { state } : {}),
    codeChallenge: challenge,
    scopes,
    createdAt: now,
    expiresAt: now + PENDING_AUTHORIZATION_SECONDS,
  });
  return { kind: 'sign-in', client, redirectUri, requestToken: request.token, csrf };
}

/** The parameters besides client_id, redirect_uri and state that must come once at most, with their bound. */
const SINGLE_PARAMETERS: [string, IdentifierKind][] = [
  ['response_type', 'parameterName'],
  ['code_challenge', 'codeChallenge'],
  ['code_challenge_method', 'parameterName'],
  ['scope', 'scope'],
];

/** The redirect URI with the response's parameters added to its query (RFC 6749 section 3.1.2: its own query is kept). */
export function redirectLocation(redirectUri: string, params: Record<string, string | undefined>): string {
  const url = new URL(redirectUri);
  for (const [name, value] of Object.entries(params)) if (value !== undefined) url.searchParams.append(name, value);
  return url.href;
}

// --- the sign-in form ----------------------------------------------------------------------------

export interface SignInInput {
  /** The form's hidden `request` field. */
  requestToken: string | undefined;
  /** The `tb_csrf` cookie. */
  csrf: string | undefined;
  /** Trimmed and lower-cased; undefined when missing. */
  email: string | undefined;
  password: string | undefined;
}

/** Why the form cannot be used any more: start again from the app. */
export type SignInDead = IssueClause | 'malformed';

export type SignInOutcome =
  /** The request is unknown, expired, used, or not this browser's: no attempt is spent, no redirect. */
  | { kind: 'restart'; reason: SignInDead }
  /** The form again, with a message: `invalid` input (nothing checked) or wrong `credentials`. */
  | { kind: 'retry'; reason: 'invalid' | 'credentials'; auth: Authorization; requestToken: string; email?: string }
  /** The account's attempts are used up (contract section 2): the form again, saying when to retry. */
  | { kind: 'locked'; retryAfter: number; auth: Authorization; requestToken: string; email: string }
  /** Signed in: 303 to the app with the code. */
  | { kind: 'redirect'; location: string };

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const MIN_PASSWORD = 6;

/**
 * The sign-in (the form's POST). The pending request is read and checked first, by the same
 * clauses the store's conditional write holds (domain/authorization.ts ISSUE_CLAUSES), so a
 * stale, foreign or replayed form costs the account no attempt; then the credential check
 * shared with customer login (credentials.ts: one account counter for both); then one
 * conditional write turns the request into a 60-second code (RFC 6749 section 4.1.2).
 *
 * Round trips: the record; the customer ∥ the attempt reservation; the code ∥ its entry in the
 * customer's session index; the customer read again ∥ the cleared counter. The counter is cleared
 * only by the post that got the code, not by the posts of one form that lost (a double submit).
 */
export async function signIn(deps: AuthorizeDeps, input: SignInInput, issuer: string): Promise<SignInOutcome> {
  const request = parseToken(input.requestToken);
  if (!request || input.csrf === undefined || input.csrf.length !== 43) return { kind: 'restart', reason: 'malformed' };
  const presented = { requestHash: request.hash, csrfHash: hashToken(input.csrf) };
  const auth = await deps.authorizations.findAuthorization(request.selector);
  const refusal = auth ? issueRefusal(auth, presented, deps.clock()) : 'exists';
  if (refusal || !auth) {
    // A foreign or stale form; `csrf` is what a cross-site forgery would fail.
    audit(deps.log, 'authorization_refused', { tenant: auth?.tenant, clientId: auth?.clientId, error: `sign_in_${refusal}` });
    return { kind: 'restart', reason: refusal ?? 'exists' };
  }
  const form = { auth, requestToken: request.token };

  const { email, password } = input;
  if (
    email === undefined ||
    password === undefined ||
    tooLong('email', email) ||
    !EMAIL.test(email) ||
    password.length < MIN_PASSWORD ||
    tooLong('password', password)
  ) {
    return { kind: 'retry', reason: 'invalid', ...form, ...(email !== undefined && !tooLong('email', email) ? { email } : {}) };
  }

  const now = deps.clock();
  const who = { tenant: auth.tenant, clientId: auth.clientId, email };
  const [found, reservation] = await Promise.all([
    deps.customers.getCustomer(auth.tenant, email),
    deps.customers.reserveLoginAttempt(auth.tenant, email, attemptLimits(now)),
  ]);
  let customer: Awaited<ReturnType<typeof checkCredentials>>;
  try {
    customer = await checkCredentials(deps, who, reservation, found, password, now);
  } catch (error) {
    if (error instanceof InvalidCredentials) return { kind: 'retry', reason: 'credentials', ...form, email };
    if (error instanceof LoginThrottled) return { kind: 'locked', retryAfter: error.retryAfter, ...form, email };
    throw error;
  }

  // The code names the record it was issued under: its selector is the record's (domain/tokens.ts).
  const code = mintToken(auth.selector);
  const issuedAt = deps.clock();
  const expiresAt = issuedAt + CODE_SECONDS;
  const [issued] = await Promise.all([
    deps.authorizations.issueCode(
      auth.selector,
      { ...presented, now: issuedAt },
      {
        codeHash: code.hash,
        customer: { customerNumber: customer.customerNumber, email: customer.email, legalEntities: customer.legalEntities },
        issuedAt,
        expiresAt,
      },
    ),
    // A code is a session about to start: indexed among the customer's sessions, it is revoked
    // with them (use-cases/customer-sessions.ts). An entry for a code that lost is harmless.
    deps.sessions.indexCustomerSession({ tenant: auth.tenant, email: customer.email, selector: auth.selector, endsAt: expiresAt }),
  ]);
  if (!issued) {
    // Another tab of this browser signed in with the same request first, or it expired meanwhile.
    const reason = issueRefusal(await deps.authorizations.findAuthorization(auth.selector), presented, deps.clock()) ?? 'pending';
    audit(deps.log, 'authorization_refused', { ...who, error: `sign_in_${reason}` });
    return { kind: 'restart', reason };
  }
  // Only the sign-in that got the code clears the counter. The customer is read again after the
  // index entry is written, as customer login does: a password change (the seed writes the
  // customer, then reads the index) either finds this code's entry and revokes it, or is seen here.
  const [current] = await Promise.all([
    deps.customers.getCustomer(auth.tenant, email),
    deps.customers.clearLoginAttempts(auth.tenant, email),
  ]);
  if (!current || current.passwordHash !== customer.passwordHash) {
    await deps.authorizations.revokeAuthorization(auth.selector, deps.clock());
    audit(deps.log, 'authorization_refused', { ...who, error: 'credentials_changed_during_sign_in' });
    return { kind: 'retry', reason: 'credentials', ...form, email };
  }
  audit(deps.log, 'authorization_code_issued', {
    tenant: auth.tenant,
    clientId: auth.clientId,
    customerNumber: customer.customerNumber,
    scope: auth.scopes.join(' '),
  });
  return { kind: 'redirect', location: redirectLocation(auth.redirectUri, { code: code.token, state: auth.state, iss: issuer }) };
}
