import { EmporixError, InvalidAccessToken } from '../domain/errors.js';
import { activeFailures, FAILURE_WINDOW_SECONDS, loginGate } from '../domain/login-throttle.js';
import { decoyHash, verifyPassword } from '../domain/passwords.js';
import { checkAccessToken } from '../domain/session.js';
import { signSaasToken } from '../domain/signing-keys.js';
import { mintToken, newSelector, parseToken } from '../domain/tokens.js';
import type { StorefrontDeps } from './deps.js';
import { lifetimesOf, type SessionTokens } from './sessions.js';

export interface LoginInput {
  tenant: string;
  /** The anonymous access token whose session carries over. */
  bearer: string | undefined;
  /** Already trimmed and lower-cased. */
  email: string;
  password: string;
  issuer: string;
}

export interface LoginResult extends SessionTokens {
  saasToken: string;
  initialPassword: boolean;
}

/**
 * Customer login (contract section 2). At most three round trips: one batch read (anonymous
 * session, customer, failure count), the new family's write, and clearing earlier failures.
 * Wrong email and wrong password answer alike and cost the same scrypt verification.
 */
export async function customerLogin(deps: StorefrontDeps, input: LoginInput): Promise<LoginResult> {
  const parsed = parseToken(input.bearer);
  const tenant = parsed && (await deps.directory.getTenant(input.tenant));
  if (!parsed || !tenant) throw new InvalidAccessToken();
  const now = deps.clock();

  const { session, customer, failures } = await deps.customers.loadLogin(parsed.selector, tenant.tenant, input.email);
  const check = session?.kind === 'anonymous' ? checkAccessToken(session, parsed.hash, tenant.tenant, now) : 'invalid';
  if (check !== 'valid') throw new InvalidAccessToken(check === 'expired');

  const gate = loginGate(failures, now);
  if (!gate.allowed) {
    throw new EmporixError(429, 'too_many_requests', 'Too many failed logins; try again later.', {
      'Retry-After': String(gate.retryAfter),
    });
  }

  const passwordOk = await verifyPassword(input.password, customer?.passwordHash ?? (await decoyHash()));
  if (!customer || !passwordOk) {
    const restart = activeFailures(failures, now) === 0;
    await deps.customers.recordLoginFailure(tenant.tenant, input.email, now, restart, now + FAILURE_WINDOW_SECONDS);
    throw new EmporixError(401, 'unauthorized', 'Invalid email or password.');
  }

  const lifetime = lifetimesOf(tenant, 'customer');
  // Signed before anything is written: without a signing key the login fails with nothing stored.
  const saasToken = await signSaasToken(
    {
      issuer: input.issuer,
      customerNumber: customer.customerNumber,
      tenant: tenant.tenant,
      email: customer.email,
      sessionId: session!.sessionId,
      issuedAt: now,
      expiresAt: now + lifetime.access,
    },
    await deps.signingKeys.current(),
  );
  const selector = newSelector();
  const access = mintToken(selector);
  const refresh = mintToken(selector, 0);
  await deps.sessions.createSession({
    selector,
    kind: 'customer',
    tenant: tenant.tenant,
    clientId: session!.clientId,
    sessionId: session!.sessionId,
    issuedAt: now,
    context: session!.context,
    customer: { customerNumber: customer.customerNumber, email: customer.email, legalEntities: customer.legalEntities },
    access: { hash: access.hash, expiresAt: now + lifetime.access },
    refresh: { hash: refresh.hash, expiresAt: now + lifetime.refresh },
    consumedHashes: [],
  });
  if (failures) await deps.customers.clearLoginFailures(tenant.tenant, input.email);

  return {
    sessionId: session!.sessionId,
    tenant,
    saasToken,
    initialPassword: customer.initialPassword,
    pair: { accessToken: access.token, accessExpiresIn: lifetime.access, refreshToken: refresh.token, refreshExpiresIn: lifetime.refresh },
  };
}
