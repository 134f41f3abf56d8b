import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkFromMail } from '../support/eml.js';
import { startTestBroker, type TestBroker } from '../support/local-broker.js';
import { testSeed } from '../support/seed.js';
import { Storefront, type Answer } from '../support/storefront.js';

/**
 * Signup with double opt-in (contract section 11) over HTTP in local mode, reading the outbox
 * (`DATA_DIR/outbox/*.eml`) as a user reads mail.
 */

const LINK = 'https://shop.acme.example/optin?token=';
const PASSWORD = 'a-long-secret-pw';
let broker: TestBroker;
let shop: Storefront;

beforeAll(async () => {
  const seed = testSeed();
  Object.assign(seed.tenants.acme, { mail: { from: 'shop@acme.example', optInLink: `${LINK}{token}` } });
  broker = await startTestBroker(seed);
  shop = new Storefront(broker.url);
});
afterAll(() => broker?.stop());

async function answer(response: Response): Promise<Answer> {
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined } as Answer;
}

async function anonymous(): Promise<string> {
  return (await shop.anonymousLogin()).body.access_token as string;
}

async function signup(body: unknown, bearer?: string): Promise<Answer> {
  return answer(
    await fetch(`${broker.url}/customer/acme/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer ?? (await anonymous())}` },
      body: JSON.stringify(body),
    }),
  );
}

async function confirm(token: string, bearer?: string): Promise<Answer> {
  return answer(
    await fetch(`${broker.url}/customer/acme/signup/optin/${encodeURIComponent(token)}`, {
      headers: { authorization: `Bearer ${bearer ?? (await anonymous())}` },
    }),
  );
}

async function resend(email: string): Promise<Answer> {
  return answer(
    await fetch(`${broker.url}/customer/acme/signup/optin/refresh_token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email }),
    }),
  );
}

/** The mails to `email`, in sending order, as raw .eml text. */
function mailsTo(email: string): string[] {
  return readdirSync(broker.outbox)
    .filter((name) => name.endsWith('.eml'))
    .sort()
    .map((name) => readFileSync(join(broker.outbox, name), 'utf8'))
    .filter((raw) => new RegExp(`^To: ${email.replace(/[.+]/g, '\\$&')}\\r?$`, 'm').test(raw));
}

function tokenOf(raw: string): string {
  return new URL(linkFromMail(raw, LINK)).searchParams.get('token')!;
}

describe('signup over HTTP', () => {
  it('signs up, refuses the login before the link, and the link logs in once', async () => {
    const email = 'una@example.com';
    const created = await signup({ email, password: PASSWORD });
    expect(created.status).toBe(201);
    expect(created.body.id).toEqual(expect.any(String));
    const mails = mailsTo(email);
    expect(mails).toHaveLength(1);
    expect(mails[0]).toMatch(/^From: shop@acme\.example\r$/m);

    expect((await shop.login(await anonymous(), email, PASSWORD)).status).toBe(401);

    const token = tokenOf(mails[0]!);
    const bearer = await anonymous();
    const login = await confirm(token, bearer);
    expect(login.status).toBe(200);
    expect(Object.keys(login.body)).toEqual(expect.arrayContaining(['access_token', 'saas_token', 'refresh_token', 'session_id']));
    expect((await shop.validate(login.body.access_token)).status).toBe(200);

    const again = await confirm(token);
    expect(again.status).toBe(400);
    expect(again.body).toMatchObject({ status: 400, type: 'bad_request' });

    expect((await shop.login(await anonymous(), email, PASSWORD)).status).toBe(200);
    const duplicate = await signup({ email, password: PASSWORD });
    expect(duplicate.status).toBe(409);
    expect(duplicate.body).toMatchObject({ status: 409, type: 'conflict_resource' });
  });

  it('of 10 concurrent clicks exactly one logs in', async () => {
    const email = 'ten@example.com';
    expect((await signup({ email, password: PASSWORD })).status).toBe(201);
    const token = tokenOf(mailsTo(email)[0]!);
    const bearers = await Promise.all(Array.from({ length: 10 }, anonymous));
    const answers = await Promise.all(bearers.map((bearer) => confirm(token, bearer)));
    expect(answers.map((a) => a.status).sort()).toEqual([200, ...Array(9).fill(400)]);
  });

  it('resend replaces the link; an unknown address gets 202 and no mail', async () => {
    const email = 'rex@example.com';
    expect((await signup({ email, password: PASSWORD })).status).toBe(201);
    const first = tokenOf(mailsTo(email)[0]!);
    broker.clock.advance(61);
    expect((await resend(email)).status).toBe(202);
    const mails = mailsTo(email);
    expect(mails).toHaveLength(2);
    const second = tokenOf(mails[1]!);
    expect(second).not.toBe(first);
    // Within the minute: 202, no mail.
    expect((await resend(email)).status).toBe(202);
    expect(mailsTo(email)).toHaveLength(2);

    expect((await resend('nobody@example.com')).status).toBe(202);
    expect(mailsTo('nobody@example.com')).toHaveLength(0);

    expect((await confirm(first)).status).toBe(400);
    expect((await confirm(second)).status).toBe(200);
  });

  it('refuses a short password (400) and answers 201 to the body Emporix showcase sends', async () => {
    const short = await signup({ email: 'sho@example.com', password: 'short' });
    expect(short.status).toBe(400);
    expect(short.body).toMatchObject({ status: 400, type: 'bad_request' });
    const showcase = await signup({
      customerDetails: {
        contactEmail: 'show@example.com',
        firstName: 'Sam',
        lastName: 'Case',
        contactPhone: '+49 89 123456',
        company: 'Showcase GmbH',
        b2b: { companyRegistrationId: 'HRB 1234', legalEntities: [] },
        preferredCurrency: 'EUR',
        preferredSite: 'main',
        preferredLanguage: 'en',
        title: 'MR',
        metadata: { mixins: {} },
      },
      signup: { email: 'show@example.com', password: PASSWORD },
    });
    expect(showcase.status).toBe(201);
    expect(mailsTo('show@example.com')).toHaveLength(1);
  });

  it('an unconfirmed account expires after 7 days (the clock moved): the link dies and the email is free again', async () => {
    const email = 'old@example.com';
    expect((await signup({ email, password: PASSWORD })).status).toBe(201);
    const token = tokenOf(mailsTo(email)[0]!);
    broker.clock.advance(7 * 24 * 3600);
    expect((await confirm(token)).status).toBe(400);
    expect((await resend(email)).status).toBe(202);
    expect(mailsTo(email)).toHaveLength(1);
    expect((await signup({ email, password: PASSWORD })).status).toBe(201);
    expect(mailsTo(email)).toHaveLength(2);
  });

  it('logs neither a password nor a link token', async () => {
    const lines = broker.logLines.join('\n');
    expect(lines).not.toContain(PASSWORD);
    const outbox = readdirSync(broker.outbox).filter((name) => name.endsWith('.eml'));
    expect(outbox.length).toBeGreaterThan(0);
    for (const name of outbox) {
      const token = tokenOf(readFileSync(join(broker.outbox, name), 'utf8'));
      expect(lines).not.toContain(token);
      expect(lines).not.toContain(encodeURIComponent(token));
    }
    expect(lines).toContain('signup_created');
    expect(lines).toContain('signup_confirmed');
  });
});
