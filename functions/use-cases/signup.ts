import { randomUUID } from 'node:crypto';
import { audit } from '../audit.js';
import { Conflict, InvalidRequest, InvalidToken, ServiceUnavailable, Throttled } from '../domain/errors.js';
import { optInMail } from '../domain/mail.js';
import { hashPassword } from '../domain/passwords.js';
import { checkAccessToken, type RefreshFamily } from '../domain/refresh-family.js';
import { revokedWithStorefrontClient, type Tenant } from '../domain/tenant.js';
import { mintToken, parseToken } from '../domain/tokens.js';
import { countTokensIssued } from '../metrics.js';
import type { SignupDeps } from './deps.js';
import { firstPair, planCustomerSession } from './sessions.js';
import type { LoginResult } from './customer-login.js';

/**
 * Signup with double opt-in (contract section 11). The account is created inactive with the hash
 * of a one-time link's token; the link logs the customer in by one conditional write on the
 * customer (the store's `confirmSignup`); a resend replaces the token, so earlier links die.
 * Never logged: the password, the link's token.
 */

export type { SignupDeps } from './deps.js';

/** A confirmation link is valid 24 h; an unconfirmed account 7 days (contract section 11). */
export const OPT_IN_SECONDS = 24 * 3600;
export const PENDING_SECONDS = 7 * 24 * 3600;
/** At most one mail a minute per address. */
export const MAIL_GATE_SECONDS = 60;
/** Signups, and resends, per source IP: 10 in 10 minutes. */
export const SOURCE_LIMITS = { windowSeconds: 600, limit: 10 };

export const MIN_PASSWORD = 8;
/**
 * Every resend answers no sooner than this after it started, whatever it found: an SES send takes
 * tens of milliseconds in-region, so an address with a pending account (a mail is sent) and one
 * without (none is) answer alike. A send slower than this would still show; it is the bound's price.
 */
export const RESEND_FLOOR_MS = 500;

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
/** Bounded input: scrypt over a huge password is work an attacker chooses. */
export const MAX_PASSWORD = 1024;
const MAX_EMAIL = 254;
const EMAIL = /^[^\s@]+@[^\s@]+$/;

export interface SignupRequest {
  /** Trimmed and lower-cased. */
  email: string;
  password: string;
  /** The CustomerSignup without its password(s): kept with the customer as JSON. */
  details: Record<string, unknown>;
}

/**
 * Reads Emporix's `CustomerSignup`: credentials from `signup: { email, password }` when present,
 * else `email` and `password`; everything else kept, never refused. `customerDetails.contactEmail`,
 * when given, must be the email.
 */
export function readSignupBody(body: unknown): SignupRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new InvalidRequest('the body must be a JSON object');
  const raw = body as Record<string, unknown>;
  const nested = raw.signup;
  if (nested !== undefined && (typeof nested !== 'object' || nested === null || Array.isArray(nested))) {
    throw new InvalidRequest('signup must be an object', [{ field: 'signup', type: 'invalid', message: 'signup must be an object' }]);
  }
  const credentials = (nested as Record<string, unknown> | undefined) ?? raw;
  const email = readEmail(credentials.email ?? raw.email, 'email');
  const password = credentials.password ?? raw.password;
  if (typeof password !== 'string' || password.length < MIN_PASSWORD || password.length > MAX_PASSWORD) {
    throw new InvalidRequest(`the password must have ${MIN_PASSWORD} to ${MAX_PASSWORD} characters`, [
      { field: 'password', type: 'invalid', message: `at least ${MIN_PASSWORD} characters` },
    ]);
  }
  const customerDetails = raw.customerDetails;
  if (customerDetails !== undefined && customerDetails !== null && typeof customerDetails === 'object') {
    const contactEmail = (customerDetails as Record<string, unknown>).contactEmail;
    if (contactEmail !== undefined && contactEmail !== null && readEmail(contactEmail, 'customerDetails.contactEmail') !== email) {
      throw new InvalidRequest('customerDetails.contactEmail must be the email', [
        { field: 'customerDetails.contactEmail', type: 'invalid', message: 'must equal email' },
      ]);
    }
  }
  const { password: _top, signup: _signup, ...rest } = raw;
  const details: Record<string, unknown> = { ...rest };
  if (nested !== undefined) {
    const { password: _inner, ...signupRest } = nested as Record<string, unknown>;
    details.signup = signupRest;
  }
  return { email, password, details };
}

export function readEmail(value: unknown, field: string): string {
  const email = typeof value === 'string' ? value.trim().toLowerCase() : '';
  if (!EMAIL.test(email) || email.length > MAX_EMAIL) {
    throw new InvalidRequest(`${field} must be an e-mail address`, [{ field, type: 'invalid', message: 'an e-mail address' }]);
  }
  return email;
}

/** The anonymous session a bearer token belongs to, on this tenant. */
async function anonymousSession(
  deps: SignupDeps,
  tenantId: string,
  bearer: string | undefined,
): Promise<{ tenant: Tenant; session: RefreshFamily }> {
  const parsed = parseToken(bearer);
  const tenant = parsed && (await deps.directory.getTenant(tenantId));
  if (!parsed || !tenant) throw new InvalidToken();
  const session = await deps.sessions.findSession(parsed.selector);
  const now = deps.clock();
  const check = session?.kind === 'anonymous' ? checkAccessToken(session, parsed.hash, tenant.tenant, now) : 'invalid';
  if (check !== 'valid') throw new InvalidToken({ expired: check === 'expired' });
  if (revokedWithStorefrontClient(tenant, session!.clientId, session!.issuedAt)) throw new InvalidToken();
  return { tenant, session: session! };
}

async function countSource(deps: SignupDeps, kind: 'signup' | 'resend', sourceIp: string, now: number): Promise<void> {
  if (!(await deps.signups.countSourceRequest(`${kind}#${sourceIp}`, now, SOURCE_LIMITS))) {
    const window = SOURCE_LIMITS.windowSeconds;
    throw new Throttled(window - (now % window));
  }
}

/** Sends the link; a mail that cannot be sent opens the gate again and answers 503. */
async function sendLink(deps: SignupDeps, tenant: Tenant, email: string, token: string): Promise<void> {
  const settings = tenant.mail!;
  try {
    await deps.mailer.send(optInMail(settings, email, token, tenant.tenant));
  } catch (error) {
    await deps.signups.releaseMailGate(tenant.tenant, email).catch(() => undefined);
    throw error instanceof ServiceUnavailable ? error : new ServiceUnavailable('mail', error);
  }
}

export interface SignupInput {
  tenant: string;
  bearer: string | undefined;
  request: SignupRequest;
  sourceIp: string;
}

/**
 * Creates the inactive account and mails its link: 201 `{ id }`. An email with an account (live
 * pending or confirmed): Conflict. A mail that cannot be sent: 503, the account stays and a resend
 * sends a new link.
 */
export async function signup(deps: SignupDeps, input: SignupInput): Promise<{ id: string }> {
  const { tenant, session } = await anonymousSession(deps, input.tenant, input.bearer);
  if (!tenant.mail) throw new InvalidRequest('signup is not configured for this tenant');
  const now = deps.clock();
  await countSource(deps, 'signup', input.sourceIp, now);
  const { email, password, details } = input.request;

  const link = mintToken();
  const customerNumber = `S-${randomUUID()}`;
  const created = await deps.signups.createSignup(
    {
      tenant: tenant.tenant,
      email,
      customerNumber,
      passwordHash: await hashPassword(password, deps.passwordHashing),
      details: JSON.stringify(details),
      optIn: { selector: link.selector, hash: link.hash, expiresAt: now + OPT_IN_SECONDS },
      expiresAt: now + PENDING_SECONDS,
    },
    now,
  );
  if (!created) throw new Conflict('a customer with this email already exists');
  // A new account's first mail goes out whatever the gate says; the gate then holds resends back.
  await deps.signups.claimMailGate(tenant.tenant, email, now, now + MAIL_GATE_SECONDS);
  await sendLink(deps, tenant, email, link.token);
  audit(deps.log, 'signup_created', { tenant: tenant.tenant, clientId: session.clientId, customerNumber });
  return { id: customerNumber };
}

export class InvalidOptIn extends InvalidRequest {
  constructor() {
    super('the confirmation link is invalid, used or expired', [{ field: 'token', type: 'invalid', message: 'invalid, used or expired' }]);
  }
}

/**
 * The link: one conditional write activates the account (of concurrent clicks exactly one
 * wins), then the customer is logged in from the anonymous session (contract section 2's body).
 */
export async function confirmSignup(
  deps: SignupDeps,
  input: { tenant: string; bearer: string | undefined; token: string; issuer: string },
): Promise<LoginResult> {
  const { tenant, session } = await anonymousSession(deps, input.tenant, input.bearer);
  const parsed = parseToken(input.token);
  const lookup = parsed && (await deps.signups.findOptIn(parsed.selector));
  if (!parsed || !lookup || lookup.tenant !== tenant.tenant) throw new InvalidOptIn();
  const now = deps.clock();
  const customer = await deps.signups.confirmSignup(tenant.tenant, lookup.email, parsed.hash, now);
  if (!customer) throw new InvalidOptIn();
  audit(deps.log, 'signup_confirmed', { tenant: tenant.tenant, clientId: session.clientId, customerNumber: customer.customerNumber });

  const { started, saasToken } = await planCustomerSession(deps, { tenant, session, customer, issuer: input.issuer, now });
  const { selector, endsAt } = started.family;
  await Promise.all([
    deps.sessions.createSession(started.family),
    deps.sessions.indexCustomerSession({ tenant: tenant.tenant, email: customer.email, selector, endsAt }),
  ]);
  countTokensIssued('signup_optin');
  return { sessionId: session.sessionId, tenant, saasToken, initialPassword: customer.initialPassword, pair: firstPair(started, now) };
}

/**
 * A new link for an inactive account: 202 whatever the email. The same store work runs for any
 * address (the source counter, the mail gate, the conditional replacement); only an inactive
 * account's replacement succeeds and sends a mail. Earlier links die with the replaced hash.
 */
export async function resendOptIn(
  deps: SignupDeps & { pause?: (ms: number) => Promise<void> },
  input: { tenant: string; email: string; sourceIp: string },
): Promise<void> {
  const started = performance.now();
  try {
    const now = deps.clock();
    await countSource(deps, 'resend', input.sourceIp, now);
    const tenant = await deps.directory.getTenant(input.tenant);
    const tenantId = tenant?.tenant ?? input.tenant;
    const link = mintToken();
    if (!(await deps.signups.claimMailGate(tenantId, input.email, now, now + MAIL_GATE_SECONDS))) return;
    const optIn = { selector: link.selector, hash: link.hash, expiresAt: now + OPT_IN_SECONDS };
    const replaced = await deps.signups.replaceOptIn(tenantId, input.email, optIn, now);
    if (replaced && tenant?.mail) await sendLink(deps, tenant, input.email, link.token);
  } finally {
    // The answer must not tell, by its time, whether a mail went out (an account exists): every
    // resend takes at least RESEND_FLOOR_MS, longer than a send normally takes.
    const left = RESEND_FLOOR_MS - (performance.now() - started);
    if (left > 0) await (deps.pause ?? pause)(left);
  }
}
