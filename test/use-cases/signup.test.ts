import { beforeEach, describe, expect, it } from 'vitest';
import { BrokerError, ServiceUnavailable } from '../../functions/domain/errors.js';
import type { OutgoingMail } from '../../functions/domain/mail.js';
import { resolveSettings } from '../../functions/domain/tenant.js';
import type { Mailer } from '../../functions/ports.js';
import { customerLogin } from '../../functions/use-cases/customer-login.js';
import { anonymousLogin, authenticateSession } from '../../functions/use-cases/sessions.js';
import { confirmSignup, RESEND_FLOOR_MS, readSignupBody, resendOptIn, signup, type SignupDeps } from '../../functions/use-cases/signup.js';
import { CUSTOMER, ISSUER, memoryDeps } from '../support/memory-deps.js';

/** Signup with double opt-in (contract section 11) on the memory store, with a recording mailer. */

class RecordingMailer implements Mailer {
  readonly sent: OutgoingMail[] = [];
  failing = false;
  async send(mail: OutgoingMail) {
    if (this.failing) throw new ServiceUnavailable('mail', new Error('throttled'));
    this.sent.push(mail);
    return { messageId: `m${this.sent.length}@test` };
  }
  /** The token in the last mail's link, as a user would find it. */
  lastToken(): string {
    const text = this.sent.at(-1)?.text ?? '';
    const match = /token=([^\s&]+)/.exec(text);
    if (!match?.[1]) throw new Error('no link in the mail');
    return decodeURIComponent(match[1]);
  }
}

let world: Awaited<ReturnType<typeof memoryDeps>>;
let mailer: RecordingMailer;
let deps: SignupDeps;
const EMAIL = 'new@example.com';
const PASSWORD = 'a-long-password';

beforeEach(async () => {
  world = await memoryDeps();
  mailer = new RecordingMailer();
  deps = { ...world.storefront, signups: world.store, mailer };
  await world.store.putTenant({
    tenant: 'acme',
    settings: resolveSettings(undefined),
    storefrontClients: ['storefront-web'],
    mail: { from: 'shop@acme.example', optInLink: 'https://shop.acme.example/optin?token={token}' },
  });
});

async function bearer() {
  const { pair } = await anonymousLogin(world.storefront, { tenant: 'acme', clientId: 'storefront-web', context: {} });
  return pair.accessToken;
}

async function refusal(call: Promise<unknown>): Promise<string> {
  try {
    await call;
  } catch (error) {
    if (error instanceof BrokerError) return error.kind;
    throw error;
  }
  throw new Error('not refused');
}

async function signUp(email = EMAIL, password = PASSWORD, sourceIp = '203.0.113.1') {
  return signup(deps, { tenant: 'acme', bearer: await bearer(), request: readSignupBody({ email, password }), sourceIp });
}

describe('signup', () => {
  it('creates an inactive account, mails a link, and the link logs the customer in once', async () => {
    const { id } = await signUp();
    expect(id).toMatch(/^S-/);
    expect(mailer.sent).toHaveLength(1);
    expect(mailer.sent[0]).toMatchObject({ from: 'shop@acme.example', to: EMAIL });
    // Inactive: the password does not log in.
    expect(
      await refusal(customerLogin(deps, { tenant: 'acme', bearer: await bearer(), email: EMAIL, password: PASSWORD, issuer: ISSUER })),
    ).toBe('InvalidCredentials');
    const token = mailer.lastToken();
    const anonymous = await bearer();
    const login = await confirmSignup(deps, { tenant: 'acme', bearer: anonymous, token, issuer: ISSUER });
    expect(login.saasToken.split('.')).toHaveLength(3);
    const { family } = await authenticateSession(deps, 'acme', login.pair.accessToken);
    expect(family.customer?.customerNumber).toBe(id);
    expect(await world.store.listCustomerSessions('acme', EMAIL)).toEqual([family.selector]);
    // Used: a second click is 400.
    expect(await refusal(confirmSignup(deps, { tenant: 'acme', bearer: await bearer(), token, issuer: ISSUER }))).toBe('InvalidRequest');
    // Active: the password logs in now, and the email cannot be signed up again.
    await customerLogin(deps, { tenant: 'acme', bearer: await bearer(), email: EMAIL, password: PASSWORD, issuer: ISSUER });
    expect(await refusal(signUp())).toBe('Conflict');
    const lines = world.logLines.join('\n');
    expect(lines).toContain('signup_created');
    expect(lines).toContain('signup_confirmed');
    expect(lines).not.toContain(PASSWORD);
    expect(lines).not.toContain(token);
  });

  it('of 10 concurrent clicks exactly one logs in', async () => {
    await signUp();
    const token = mailer.lastToken();
    const bearers = await Promise.all(Array.from({ length: 10 }, bearer));
    const results = await Promise.allSettled(bearers.map((b) => confirmSignup(deps, { tenant: 'acme', bearer: b, token, issuer: ISSUER })));
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
  });

  it('refuses a seeded customer email (409), a short password (400), and a tenant without mail settings', async () => {
    expect(await refusal(signUp(CUSTOMER.email))).toBe('Conflict');
    expect(() => readSignupBody({ email: EMAIL, password: 'short' })).toThrow(/password/);
    await world.store.putTenant({ tenant: 'globex', settings: resolveSettings(undefined), storefrontClients: ['globex-web'] });
    const { pair } = await anonymousLogin(world.storefront, { tenant: 'globex', clientId: 'globex-web', context: {} });
    const request = readSignupBody({ email: EMAIL, password: PASSWORD });
    expect(await refusal(signup(deps, { tenant: 'globex', bearer: pair.accessToken, request, sourceIp: 'x' }))).toBe('InvalidRequest');
    expect(await refusal(signup(deps, { tenant: 'acme', bearer: 'nonsense', request, sourceIp: 'x' }))).toBe('InvalidToken');
    expect(mailer.sent).toHaveLength(0);
  });

  it("keeps Emporix's showcase CustomerSignup extras and takes the credentials from signup", () => {
    const body = {
      customerDetails: {
        firstName: 'Ann',
        lastName: 'Lee',
        contactEmail: 'Ann.Lee@Example.com',
        contactPhone: '+49 89 1234',
        company: 'ACME',
        b2b: { companyRegistrationId: 'DE123', legalEntities: [] },
        preferredCurrency: 'EUR',
        preferredSite: 'main',
        preferredLanguage: 'de',
      },
      signup: { email: 'ann.lee@example.com', password: PASSWORD },
    };
    const read = readSignupBody(body);
    expect(read.email).toBe('ann.lee@example.com');
    expect(read.details).toEqual({ customerDetails: body.customerDetails, signup: { email: 'ann.lee@example.com' } });
    expect(JSON.stringify(read.details)).not.toContain(PASSWORD);
    expect(() => readSignupBody({ ...body, customerDetails: { contactEmail: 'other@example.com' } })).toThrow(/contactEmail/);
  });

  it('a mail that cannot be sent answers 503 and leaves the account resendable', async () => {
    mailer.failing = true;
    expect(await refusal(signUp())).toBe('ServiceUnavailable');
    mailer.failing = false;
    await resendOptIn(deps, { tenant: 'acme', email: EMAIL, sourceIp: 'y' });
    expect(mailer.sent).toHaveLength(1);
    await confirmSignup(deps, { tenant: 'acme', bearer: await bearer(), token: mailer.lastToken(), issuer: ISSUER });
  });

  it('resend replaces the link, sends at most one mail a minute, and sends nothing for an unknown address', async () => {
    await signUp();
    const first = mailer.lastToken();
    await resendOptIn(deps, { tenant: 'acme', email: EMAIL, sourceIp: 'y' });
    expect(mailer.sent).toHaveLength(1); // within the minute
    world.clock.advance(60);
    await resendOptIn(deps, { tenant: 'acme', email: EMAIL, sourceIp: 'y' });
    expect(mailer.sent).toHaveLength(2);
    const second = mailer.lastToken();
    expect(second).not.toBe(first);
    await resendOptIn(deps, { tenant: 'acme', email: 'nobody@example.com', sourceIp: 'y' });
    await resendOptIn(deps, { tenant: 'acme', email: CUSTOMER.email, sourceIp: 'y' });
    expect(mailer.sent).toHaveLength(2);
    expect(await refusal(confirmSignup(deps, { tenant: 'acme', bearer: await bearer(), token: first, issuer: ISSUER }))).toBe(
      'InvalidRequest',
    );
    await confirmSignup(deps, { tenant: 'acme', bearer: await bearer(), token: second, issuer: ISSUER });
  });

  it('every resend waits out the same floor, mail sent or not, so its time tells no account', async () => {
    await signUp();
    world.clock.advance(60);
    const waits: number[] = [];
    const paced = { ...deps, pause: async (ms: number) => void waits.push(ms) };
    // A pending account (a mail goes out), an unknown address, and the gate closed: each answers
    // only once RESEND_FLOOR_MS has passed since it started.
    await resendOptIn(paced, { tenant: 'acme', email: EMAIL, sourceIp: 'z' });
    await resendOptIn(paced, { tenant: 'acme', email: 'nobody@example.com', sourceIp: 'z' });
    await resendOptIn(paced, { tenant: 'acme', email: EMAIL, sourceIp: 'z' });
    expect(mailer.sent).toHaveLength(2);
    expect(waits).toHaveLength(3);
    for (const wait of waits) {
      expect(wait).toBeGreaterThan(0);
      expect(wait).toBeLessThanOrEqual(RESEND_FLOOR_MS);
    }
  });

  it('a link dies after 24 h, an unconfirmed account after 7 days, which frees its email', async () => {
    await signUp();
    world.clock.advance(24 * 3600);
    expect(await refusal(confirmSignup(deps, { tenant: 'acme', bearer: await bearer(), token: mailer.lastToken(), issuer: ISSUER }))).toBe(
      'InvalidRequest',
    );
    world.clock.advance(6 * 24 * 3600);
    await resendOptIn(deps, { tenant: 'acme', email: EMAIL, sourceIp: 'y' });
    expect(mailer.sent).toHaveLength(1);
    await signUp();
    expect(mailer.sent).toHaveLength(2);
  });

  it('throttles signups per source IP', async () => {
    for (let i = 0; i < 10; i++) await signUp(`u${i}@example.com`, PASSWORD, '198.51.100.7');
    expect(await refusal(signUp('u10@example.com', PASSWORD, '198.51.100.7'))).toBe('Throttled');
    await signUp('u10@example.com', PASSWORD, '198.51.100.8');
  });
});
