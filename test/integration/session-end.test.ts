import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalBroker } from '../../functions/local/broker.js';
import { jsonLogger } from '../../functions/log.js';
import type { CustomerSessionEntry } from '../../functions/ports.js';
import { parseSeed } from '../../functions/seed/schema.js';
import { basic, postForm, startTestBroker, TEST_SCRYPT, TestClock, type TestBroker } from '../support/local-broker.js';
import { testSeed, TEST_SECRETS } from '../support/seed.js';
import { EXPIRED_TOKEN, INVALID_REFRESH, INVALID_TOKEN, selectorOf, Storefront } from '../support/storefront.js';

/**
 * Issue 8, item 3 (contract section 2, "Sessions end"): every session has an absolute end that
 * refreshes never extend, and a customer's password change or removal ends all of that customer's
 * sessions at once, for refresh, validation and introspection; a removed legal entity can no
 * longer be selected. Over HTTP against local mode, on dynalite, with a moved clock.
 */

const CUSTOMER_MAX = 100_000;
const ANONYMOUS_MAX = 5_000;

/** The test seed with short session maxima for acme (refresh lifetimes stay at 86399). */
function seedWith(change: (acme: Record<string, any>) => void = () => {}) {
  const seed = testSeed() as { tenants: Record<string, any> };
  const acme = seed.tenants.acme;
  acme.settings = { lifetimes: { ...acme.settings.lifetimes, customerSessionMax: CUSTOMER_MAX, anonymousSessionMax: ANONYMOUS_MAX } };
  change(acme);
  return seed;
}

const audits = (broker: TestBroker, event: string) =>
  broker.logLines.map((line) => JSON.parse(line)).filter((entry) => entry.message === 'audit' && entry.event === event);

describe('the absolute end of a session', () => {
  let broker: TestBroker;
  let storefront: Storefront;
  beforeAll(async () => {
    broker = await startTestBroker(seedWith());
    storefront = new Storefront(broker.url);
  });
  afterAll(() => broker.stop());

  it('a customer session: refreshes never extend it, refresh_token_expires_in counts down to it, then nothing works', async () => {
    const { login } = await storefront.customer();
    expect(login.refresh_token_expires_in).toBe(86399);
    broker.clock.advance(86_000);
    const first = await storefront.refresh(login.refresh_token);
    expect(first.status).toBe(200);
    expect(first.body.refresh_token_expires_in).toBe(CUSTOMER_MAX - 86_000);
    // The access token is bound by the same end (14399 s would outlive it).
    expect(first.body.expires_in).toBe(CUSTOMER_MAX - 86_000);

    broker.clock.advance(CUSTOMER_MAX - 86_000 - 100); // 100 s before the end
    const second = await storefront.refresh(first.body.refresh_token);
    expect(second.status).toBe(200);
    expect(second.body.refresh_token_expires_in).toBe(100);
    expect(second.body.expires_in).toBe(100);
    expect((await storefront.validate(second.body.access_token)).body.expires_in).toBe(100);

    broker.clock.advance(100); // the end
    expect(await storefront.refresh(second.body.refresh_token)).toMatchObject({ status: 401, body: INVALID_REFRESH });
    expect(await storefront.validate(second.body.access_token)).toMatchObject({ status: 401, body: EXPIRED_TOKEN });
    const introspection = await postForm(
      `${broker.url}/oauth/introspect`,
      { token: second.body.access_token },
      {
        authorization: basic('reports-svc', TEST_SECRETS.reports),
      },
    );
    expect(await introspection.json()).toEqual({ active: false });
  });

  it('an anonymous session: its refresh token never outlives the end, counted from the anonymous login', async () => {
    const anonymous = (await storefront.anonymousLogin()).body;
    expect(anonymous.refresh_token_expires_in).toBe(ANONYMOUS_MAX);
    expect(anonymous.expires_in).toBe(3599);
    broker.clock.advance(ANONYMOUS_MAX - 10);
    const refreshed = await storefront.anonymousRefresh({ refresh_token: anonymous.refresh_token });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body).toMatchObject({ expires_in: 10, refresh_token_expires_in: 10, sessionId: anonymous.sessionId });
    broker.clock.advance(10);
    expect((await storefront.anonymousRefresh({ refresh_token: refreshed.body.refresh_token })).status).toBe(401);
    // A customer login starts the customer session's own end.
    const fresh = (await storefront.anonymousLogin()).body.access_token;
    const login = await storefront.login(fresh, 'ann@example.com', 'correct-horse');
    expect(login.body.refresh_token_expires_in).toBe(86399);
  });
});

describe('the default end of a customer session: 30 days after the login', () => {
  let broker: TestBroker;
  beforeAll(async () => {
    broker = await startTestBroker();
  });
  afterAll(() => broker.stop());

  it('daily refreshes do not keep a session alive past it', async () => {
    const storefront = new Storefront(broker.url);
    const { login } = await storefront.customer();
    const end = broker.clock.now + 2_592_000;
    let refreshToken = login.refresh_token as string;
    while (broker.clock.now + 86_000 < end) {
      broker.clock.advance(86_000);
      const refreshed = await storefront.refresh(refreshToken);
      expect(refreshed.status).toBe(200);
      expect(refreshed.body.refresh_token_expires_in).toBe(Math.min(86_399, end - broker.clock.now));
      refreshToken = refreshed.body.refresh_token;
    }
    broker.clock.advance(end - broker.clock.now);
    expect(await storefront.refresh(refreshToken)).toMatchObject({ status: 401, body: INVALID_REFRESH });
  });
});

describe('a password change, a removal and a legal-entity change through the seed', () => {
  let broker: TestBroker;
  let storefront: Storefront;
  beforeAll(async () => {
    broker = await startTestBroker();
    storefront = new Storefront(broker.url);
  });
  afterAll(() => broker.stop());

  const introspect = async (token: string) =>
    (await postForm(`${broker.url}/oauth/introspect`, { token }, { authorization: basic('reports-svc', TEST_SECRETS.reports) })).json();

  it('a changed password ends every session of the customer at once: refresh, validate and introspect', async () => {
    const one = (await storefront.customer()).login;
    const two = (await storefront.customer()).login;
    const refreshed = (await storefront.refresh(two.refresh_token)).body;
    const changed = testSeed();
    changed.tenants.acme.customers[0]!.password = 'a-new-password';
    const report = await broker.reseed(parseSeed(JSON.stringify(changed)));

    for (const login of [one, two]) {
      expect(await storefront.validate(login.access_token)).toMatchObject({ status: 401, body: INVALID_TOKEN });
      expect(await introspect(login.access_token)).toEqual({ active: false });
    }
    expect(await storefront.refresh(one.refresh_token)).toMatchObject({ status: 401, body: INVALID_REFRESH });
    expect(await storefront.refresh(refreshed.refresh_token)).toMatchObject({ status: 401, body: INVALID_REFRESH });
    expect(await storefront.validate(refreshed.access_token)).toMatchObject({ status: 401, body: INVALID_TOKEN });
    expect(report.sessionsEnded).toBe(2);
    expect(audits(broker, 'customer_sessions_ended')).toContainEqual(
      expect.objectContaining({ tenant: 'acme', email: 'ann@example.com', reason: 'password_changed', sessions: 2 }),
    );

    // The new password logs in; the index no longer lists the ended families.
    const after = (await storefront.customer('ann@example.com', 'a-new-password')).login;
    expect((await storefront.validate(after.access_token)).status).toBe(200);
    expect(await broker.storefront.sessions.listCustomerSessions('acme', 'ann@example.com')).toEqual([selectorOf(after.access_token)]);
    // Applying the same seed again ends nothing.
    expect((await broker.reseed(parseSeed(JSON.stringify(changed)))).sessionsEnded).toBe(0);
    expect((await storefront.validate(after.access_token)).status).toBe(200);
  });

  it('a legal entity removed from the customer is no longer reported nor selectable; the session lives on', async () => {
    const { login } = await storefront.customer('ann@example.com', 'a-new-password');
    const switched = (await storefront.refresh(login.refresh_token, { legalEntityId: 'LE-2' })).body;
    expect((await storefront.validate(switched.access_token)).body.legalEntityId).toBe('LE-2');

    const fewer = testSeed();
    fewer.tenants.acme.customers[0]!.password = 'a-new-password';
    fewer.tenants.acme.customers[0]!.legalEntities = ['LE-1'];
    const report = await broker.reseed(parseSeed(JSON.stringify(fewer)));

    expect(await storefront.validate(switched.access_token)).toMatchObject({ status: 200, body: { legalEntityId: null } });
    expect(await introspect(switched.access_token)).not.toHaveProperty('legal_entity_id');
    expect((await storefront.refresh(switched.refresh_token, { legalEntityId: 'LE-2' })).status).toBe(403);
    const next = await storefront.refresh(switched.refresh_token, { legalEntityId: 'LE-1' });
    expect(next.status).toBe(200);
    expect((await storefront.validate(next.body.access_token)).body.legalEntityId).toBe('LE-1');
    expect(report.sessionsEnded).toBe(0);
  });

  it('a customer the seed no longer names is deleted and all its sessions end', async () => {
    const { login } = await storefront.customer('ann@example.com', 'a-new-password');
    const live = await broker.storefront.sessions.listCustomerSessions('acme', 'ann@example.com');
    expect(live).toHaveLength(3); // this one and the two of the tests above
    const without = testSeed();
    without.tenants.acme.customers = [];
    const report = await broker.reseed(parseSeed(JSON.stringify(without)));
    expect(await storefront.validate(login.access_token)).toMatchObject({ status: 401, body: INVALID_TOKEN });
    expect(await storefront.refresh(login.refresh_token)).toMatchObject({ status: 401, body: INVALID_REFRESH });
    expect(report).toMatchObject({ customersRemoved: ['acme/ann@example.com'], sessionsEnded: 3 });
    expect(await broker.storefront.customers.getCustomer('acme', 'ann@example.com')).toBeUndefined();
    const anonymous = (await storefront.anonymousLogin()).body.access_token;
    expect((await storefront.login(anonymous, 'ann@example.com', 'a-new-password')).status).toBe(401);
    expect(audits(broker, 'customer_sessions_ended')).toContainEqual(expect.objectContaining({ reason: 'customer_removed', sessions: 3 }));
    // Named again: a new customer, no removal the second time.
    expect((await broker.reseed(parseSeed(JSON.stringify(testSeed())))).customersRemoved).toEqual([]);
    expect((await broker.reseed(parseSeed(JSON.stringify(testSeed())))).customersRemoved).toEqual([]);
  });

  it('a login that verified the old password just before the change does not keep a session', async () => {
    // The seed runs between the login's password check and its index write: its sweep finds
    // nothing for this login, so the login's own re-read of the customer must end the family.
    const sessions = broker.storefront.sessions;
    const index = sessions.indexCustomerSession;
    const changed = testSeed();
    changed.tenants.acme.customers[0]!.password = 'changed-mid-login';
    sessions.indexCustomerSession = async (entry: CustomerSessionEntry) => {
      await broker.reseed(parseSeed(JSON.stringify(changed)));
      return index.call(sessions, entry);
    };
    try {
      const anonymous = (await storefront.anonymousLogin()).body.access_token;
      const login = await storefront.login(anonymous, 'ann@example.com', 'correct-horse');
      expect(login).toMatchObject({ status: 401, body: { type: 'unauthorized' } });
    } finally {
      sessions.indexCustomerSession = index;
    }
    const [selector] = await sessions.listCustomerSessions('acme', 'ann@example.com');
    expect((await sessions.findSession(selector!))?.revokedAt).toBeDefined();
    expect(audits(broker, 'family_revoked')).toContainEqual(expect.objectContaining({ reason: 'credentials_changed_during_login' }));
  });
});

describe('the incident command: npm run seed -- --end-customer-sessions <tenant> <email> --local', () => {
  const dir = mkdtempSync(join(tmpdir(), 'token-broker-end-sessions-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('ends every session of the customer in the local store, and audits it', async () => {
    const seedFile = join(dir, 'seed.json');
    writeFileSync(seedFile, JSON.stringify(testSeed()));
    const clock = new TestClock(Math.floor(Date.now() / 1000));
    const start = () =>
      startLocalBroker({
        port: 0,
        host: '127.0.0.1',
        dataDir: dir,
        seedFile,
        clock: clock.read,
        log: jsonLogger(() => {}),
        scrypt: TEST_SCRYPT,
      });
    let broker = await start();
    const { login } = await new Storefront(broker.url).customer();
    await broker.close();

    const result = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'bin/seed.ts', '--end-customer-sessions', 'acme', 'Ann@Example.com', '--local', '--data-dir', dir],
      { env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } },
    );
    expect(result.stdout).toContain('ended 1 session(s) of ann@example.com in tenant acme');
    const audit = result.stderr
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line));
    expect(audit).toContainEqual(
      expect.objectContaining({
        event: 'customer_sessions_ended',
        tenant: 'acme',
        email: 'ann@example.com',
        sessions: 1,
        sourceIp: 'seed-cli',
      }),
    );

    broker = await start();
    try {
      const storefront = new Storefront(broker.url);
      expect(await storefront.validate(login.access_token)).toMatchObject({ status: 401, body: INVALID_TOKEN });
      expect(await storefront.refresh(login.refresh_token)).toMatchObject({ status: 401, body: INVALID_REFRESH });
    } finally {
      await broker.close();
    }
  });
});
