import { audit } from '../audit.js';
import { ExternalTokenRejected, InvalidRequest, InvalidToken, ServiceUnavailable, UnknownCustomer } from '../domain/errors.js';
import { matchFederatedCustomer, newCustomerNumber } from '../domain/federated-customers.js';
import { DEFAULT_PROVIDER, type ExternalIdentity, type IdentityProvider } from '../domain/federation.js';
import { MAX_LENGTH } from '../domain/identifiers.js';
import { countTokensIssued } from '../metrics.js';
import { noteCaller } from '../request-context.js';
import { checkAccessToken, type RefreshFamily } from '../domain/refresh-family.js';
import { identityProviderOf, revokedWithStorefrontClient, type Tenant } from '../domain/tenant.js';
import { parseToken } from '../domain/tokens.js';
import type { CustomerRecord } from '../ports.js';
import type { FederationDeps } from './deps.js';
import { firstPair, planCustomerSession, type SessionTokens } from './sessions.js';

/**
 * Federated customers (contract section 10): `POST /customer/{tenant}/socialLogin` exchanges a
 * provider's code, `POST /customer/{tenant}/exchangeauthtoken` a provider's access token; both
 * end in an ordinary customer session of the broker, like a login without a password: the
 * anonymous session carries over, a `customer` family is started and indexed among the
 * customer's sessions (so refresh, validate, logout, a password change and
 * `--end-customer-sessions` treat it like any), and a saas_token is signed.
 *
 * Order and round trips: the tenant (cached) and its provider (an unknown `config` is a 400
 * before anything else); the anonymous session (one GetItem), checked before the provider is
 * called, so no request without a live session spends a code or makes the broker call out; the
 * provider (the adapter's 5 s budget); the identity's link and the customer under its email (one
 * BatchGetItem; a second read when the link names another email); the rules
 * (domain/federated-customers.ts) and their conditional writes; the family and its index entry
 * (together); for an existing customer, one more read of it (see customer-login.ts: it closes
 * the race with a seed that changes or removes the customer and ends their sessions meanwhile).
 * A just-provisioned customer needs no re-read: nothing else knows it yet.
 */

export interface FederatedInput {
  tenant: string;
  /** The anonymous access token whose session carries over (the Bearer, or `anonymous_token`). */
  bearer: string | undefined;
  /** The provider's name (`config`); `default` when absent. */
  config: string | undefined;
  /** The configured issuer: the saas_token's `iss`. */
  issuer: string;
}

export interface SocialLoginInput extends FederatedInput {
  code: string;
  redirectUri?: string | undefined;
  codeVerifier?: string | undefined;
  nonce?: string | undefined;
}

export interface ExchangeInput extends FederatedInput {
  subjectAccessToken: string;
}

export interface FederatedLoginResult extends SessionTokens {
  saasToken: string;
  customerNumber: string;
}

export interface SocialLoginResult extends FederatedLoginResult {
  /** The provider's own tokens, echoed to the storefront as Emporix does. */
  socialAccessToken: string;
  socialIdToken: string;
}

export async function socialLogin(deps: FederationDeps, input: SocialLoginInput): Promise<SocialLoginResult> {
  const { tenant, provider, session } = await begin(deps, input);
  const tokens = await deps.identityProviders.exchangeCode(tenant.tenant, provider, {
    code: input.code,
    redirectUri: input.redirectUri ?? provider.redirectUri,
    ...(input.codeVerifier !== undefined ? { codeVerifier: input.codeVerifier } : {}),
    ...(input.nonce !== undefined ? { nonce: input.nonce } : {}),
  });
  const result = await finish(deps, input, tenant, provider, session, tokens.identity);
  countTokensIssued('social_login');
  return { ...result, socialAccessToken: tokens.accessToken, socialIdToken: tokens.idToken };
}

export async function exchangeAuthToken(deps: FederationDeps, input: ExchangeInput): Promise<FederatedLoginResult> {
  const { tenant, provider, session } = await begin(deps, input);
  const identity = await deps.identityProviders.verifyAccessToken(tenant.tenant, provider, input.subjectAccessToken);
  const result = await finish(deps, input, tenant, provider, session, identity);
  countTokensIssued('token_exchange');
  return result;
}

/** The provider a request names, or a 400 naming `config` (contract section 10). */
export function providerOf(tenant: Tenant, config: string | undefined): IdentityProvider {
  const provider = identityProviderOf(tenant, config ?? DEFAULT_PROVIDER);
  if (!provider) {
    throw new InvalidRequest('unknown identity provider configuration', [
      { field: 'config', type: 'invalid', message: 'no identity provider of this name' },
    ]);
  }
  return provider;
}

/** The tenant, its provider and the live anonymous session, before the provider is called. */
async function begin(
  deps: FederationDeps,
  input: FederatedInput,
): Promise<{ tenant: Tenant; provider: IdentityProvider; session: RefreshFamily }> {
  const tenant = await deps.directory.getTenant(input.tenant);
  if (!tenant) throw new InvalidToken();
  const provider = providerOf(tenant, input.config);
  const parsed = parseToken(input.bearer);
  if (!parsed) throw new InvalidToken();
  const session = await deps.sessions.findSession(parsed.selector);
  const now = deps.clock();
  const check = session?.kind === 'anonymous' ? checkAccessToken(session, parsed.hash, tenant.tenant, now) : 'invalid';
  if (check !== 'valid') throw new InvalidToken({ expired: check === 'expired' });
  if (revokedWithStorefrontClient(tenant, session!.clientId, session!.issuedAt)) throw new InvalidToken();
  noteCaller(tenant.tenant, session!.clientId);
  return { tenant, provider, session: session! };
}

/** How the customer was found, for the audit event. */
type How = 'linked' | 'email' | 'provisioned';

/** The customer, then the session: what both routes share once the provider vouched for the identity. */
async function finish(
  deps: FederationDeps,
  input: FederatedInput,
  tenant: Tenant,
  provider: IdentityProvider,
  session: RefreshFamily,
  identity: ExternalIdentity,
): Promise<FederatedLoginResult> {
  const who = { tenant: tenant.tenant, clientId: session.clientId, provider: provider.name };
  const { customer, how, discardedPending } = await findOrProvision(deps, tenant.tenant, provider, usableEmail(identity), who);
  const now = deps.clock();

  const { started, saasToken } = await planCustomerSession(deps, { tenant, session, customer, issuer: input.issuer, now });
  const { selector, endsAt } = started.family;
  await Promise.all([
    deps.sessions.createSession(started.family),
    deps.sessions.indexCustomerSession({ tenant: tenant.tenant, email: customer.email, selector, endsAt }),
  ]);

  if (how !== 'provisioned') {
    const current = await deps.customers.getCustomer(tenant.tenant, customer.email);
    if (
      !current ||
      current.pending ||
      current.customerNumber !== customer.customerNumber ||
      // Both absent (a federated-only customer) is no change; a password set or changed is one.
      current.passwordHash !== customer.passwordHash
    ) {
      await deps.sessions.revokeSession(selector, deps.clock());
      audit(deps.log, 'family_revoked', { ...who, sessionId: session.sessionId, reason: 'customer_changed_during_login' });
      throw new ExternalTokenRejected('the customer changed during the login');
    }
    if (!sameMembers(current.legalEntities, customer.legalEntities)) {
      await deps.sessions.setSessionLegalEntities(selector, current.legalEntities);
    }
  }

  audit(deps.log, 'federated_login', {
    ...who,
    customerNumber: customer.customerNumber,
    sessionId: session.sessionId,
    matchedBy: how,
    ...(discardedPending ? { pendingSignupDiscarded: true } : {}),
  });
  return { sessionId: session.sessionId, tenant, saasToken, customerNumber: customer.customerNumber, pair: firstPair(started, now) };
}

/**
 * The rules' decision, written by conditional writes. A write that loses to a concurrent request
 * (another login of the same identity linking or provisioning first, a signup or seed writing the
 * email) reads again and decides again; three rounds cover any sequence of such races.
 */
async function findOrProvision(
  deps: FederationDeps,
  tenant: string,
  provider: IdentityProvider,
  identity: ExternalIdentity,
  who: { tenant: string; clientId: string; provider: string },
): Promise<{ customer: CustomerRecord; how: How; discardedPending: boolean }> {
  const linked = { issuer: identity.issuer, subject: identity.subject };
  let discardedPending = false;
  for (let round = 0; round < 3; round++) {
    const context = await deps.customers.loadFederatedLogin(undefined, tenant, linked, identity.email);
    const { link } = context;
    const linkedCustomer =
      link === undefined
        ? undefined
        : link.email === identity.email
          ? context.customer
          : await deps.customers.getCustomer(tenant, link.email);
    const match = matchFederatedCustomer({ provider, identity, link, linkedCustomer, byEmail: context.customer });
    switch (match.outcome) {
      case 'linked':
        return { customer: match.customer, how: 'linked', discardedPending };
      case 'link': {
        const { email, customerNumber } = match.customer;
        if (await deps.customers.linkIdentity({ tenant, identity: linked, email, customerNumber }, link?.customerNumber)) {
          return { customer: match.customer, how: 'email', discardedPending };
        }
        continue;
      }
      case 'provision': {
        if (match.discardPending) {
          // The unconfirmed signup goes with its password; whoever made it gains nothing.
          if (!(await deps.customers.deletePendingCustomer(tenant, match.email))) continue;
          discardedPending = true;
        }
        const customer: CustomerRecord = {
          tenant,
          email: match.email,
          customerNumber: newCustomerNumber(),
          legalEntities: [],
          initialPassword: false,
        };
        if (!(await deps.customers.createCustomer(customer))) continue;
        const email = match.email;
        if (
          !(await deps.customers.linkIdentity(
            { tenant, identity: linked, email, customerNumber: customer.customerNumber },
            link?.customerNumber,
          ))
        ) {
          // Another login linked this identity first: the next round finds its customer (this
          // one, unlinked and without a password, can never log in).
          continue;
        }
        return { customer, how: 'provisioned', discardedPending };
      }
      case 'unknown':
        throw new UnknownCustomer();
      case 'rejected':
        deps.log.info('federated login refused', { ...who, reason: match.reason });
        throw new ExternalTokenRejected(match.reason);
    }
  }
  throw new ServiceUnavailable('DynamoDB', new Error('federated customer kept changing'));
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/**
 * The provider's email, when it can be a customer's key (bounded, one address); otherwise the
 * identity is treated as one without an email.
 */
function usableEmail(identity: ExternalIdentity): ExternalIdentity {
  const email = identity.email?.trim().toLowerCase();
  if (email !== undefined && email.length <= MAX_LENGTH.email && EMAIL.test(email)) return { ...identity, email };
  const { email: _dropped, ...rest } = identity;
  return rest;
}

function sameMembers(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((value) => b.includes(value));
}
