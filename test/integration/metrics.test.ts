import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FLUSH_INTERVAL_MS } from '../../functions/metrics.js';
import { basic, postForm, startTestBroker, type TestBroker } from '../support/local-broker.js';
import { TEST_SECRETS, testSeed } from '../support/seed.js';
import { Storefront } from '../support/storefront.js';
import { checkEmf, type EmfDocument, sumMetrics } from '../support/emf.js';
import { linkFromMail } from '../support/eml.js';

/**
 * Issue 14, item 1: the broker's counters reach the log as CloudWatch embedded metric format
 * (EMF) lines, per function, at most once a minute, derived from what real requests over HTTP
 * did; and item 3: exactly one request line per request, naming its route, never a token.
 * The local broker runs exactly the Lambda adapter and counters of the functions; its clock (the
 * metrics' clock too) is moved by hand, so nothing here waits or times anything.
 */

const OPT_IN_LINK = 'https://shop.acme.example/optin?token=';
let broker: TestBroker;
let storefront: Storefront;
/** Everything a request presented that must never reach the log. */
const presented: string[] = [];

const parsed = () => broker.logLines.map((line) => JSON.parse(line) as Record<string, unknown>);
const emfDocuments = (): EmfDocument[] => parsed().filter((line) => '_aws' in line) as EmfDocument[];
const requestLines = () => parsed().filter((line) => typeof line.status === 'number' && typeof line.ms === 'number');

const serviceToken = (client = 'orders-svc', secret = TEST_SECRETS.orders) =>
  postForm(`${broker.url}/oauth/token`, { grant_type: 'client_credentials' }, { authorization: basic(client, secret) });

/** A minute on, one more request to each function that counted: each writes what it counted since its last line. */
async function flushAll(): Promise<void> {
  broker.clock.advance(FLUSH_INTERVAL_MS / 1000);
  await postForm(`${broker.url}/oauth/introspect`, { token: 'x' }, { authorization: basic('reports-svc', TEST_SECRETS.reports) });
  await storefront.validate('not-a-token');
}

beforeAll(async () => {
  const seed = testSeed();
  // Signup mail (contract section 11) for the signup counters.
  Object.assign(seed.tenants.acme, { mail: { from: 'shop@acme.example', optInLink: `${OPT_IN_LINK}{token}` } });
  broker = await startTestBroker(seed);
  storefront = new Storefront(broker.url);
});
afterAll(() => broker.stop());

describe('metrics over real HTTP', () => {
  it('counts cached service tokens by tier and writes them as EMF only once a minute', async () => {
    // The warm-up cached orders-svc's token; the oauth instance's first request writes a line at once.
    expect((await serviceToken()).status).toBe(200);
    const afterFirst = emfDocuments().length;
    expect(emfDocuments().some((doc) => doc.Service === 'oauth')).toBe(true);

    // Two more within the near cache's 5 s: served from memory, counted, not yet written.
    for (let i = 0; i < 2; i++) {
      const response = await serviceToken();
      expect(response.status).toBe(200);
      presented.push(((await response.json()) as { access_token: string }).access_token);
    }
    expect(emfDocuments()).toHaveLength(afterFirst);
    // A failed client authentication, still within the minute.
    presented.push('wrong-secret-of-orders');
    expect((await serviceToken('orders-svc', 'wrong-secret-of-orders')).status).toBe(401);
    expect(emfDocuments()).toHaveLength(afterFirst);

    // A minute later the next request of the instance writes everything counted since.
    broker.clock.advance(FLUSH_INTERVAL_MS / 1000);
    expect((await serviceToken('reports-svc', TEST_SECRETS.reports)).status).toBe(200);
    const written = emfDocuments().slice(afterFirst);
    expect(written.length).toBeGreaterThan(0);
    for (const doc of written) checkEmf(doc);
    const sums = sumMetrics(written);
    expect(sums['oauth ServiceTokenCache Tier=near']).toBe(2);
    expect(sums['oauth TokensIssued Grant=client_credentials']).toBe(3);
    expect(sums['oauth ClientAuthFailures']).toBe(1);
    // reports-svc had no cached token: a miss and a mint.
    expect(sums['oauth ServiceTokenCache Tier=miss']).toBe(1);

    // And then nothing more until the next minute has passed.
    const afterSecond = emfDocuments().length;
    broker.clock.advance(FLUSH_INTERVAL_MS / 1000 - 1);
    expect((await serviceToken()).status).toBe(200);
    expect(emfDocuments()).toHaveLength(afterSecond);
    broker.clock.advance(1);
    expect((await serviceToken()).status).toBe(200);
    expect(emfDocuments().length).toBeGreaterThan(afterSecond);
  });

  it('counts a refresh rotation, and a reused refresh token as reuse and a revoked family', async () => {
    const before = sumMetrics(emfDocuments());
    const anonymous = (await storefront.anonymousLogin()).body;
    const next = (await storefront.anonymousRefresh({ refresh_token: anonymous.refresh_token })).body;
    presented.push(anonymous.access_token, anonymous.refresh_token, next.access_token, next.refresh_token);
    broker.clock.advance(60);
    expect((await storefront.anonymousRefresh({ refresh_token: anonymous.refresh_token })).status).toBe(401);
    await flushAll();
    const sums = sumMetrics(emfDocuments());
    const added = (key: string) => (sums[key] ?? 0) - (before[key] ?? 0);
    expect(added('storefront RefreshReuseDetected')).toBe(1);
    expect(added('storefront FamiliesRevoked')).toBe(1);
    expect(added('storefront RefreshRotations')).toBe(1);
    expect(added('storefront TokensIssued Grant=anonymous')).toBe(1);
    expect(added('storefront TokensIssued Grant=refresh_token')).toBe(1);
  });

  it('counts a wrong password as a failed login, and a customer login and logout', async () => {
    const before = sumMetrics(emfDocuments());
    const anonymous = (await storefront.anonymousLogin()).body;
    presented.push(anonymous.access_token, anonymous.refresh_token, 'a-wrong-password-7');
    expect((await storefront.login(anonymous.access_token, 'ann@example.com', 'a-wrong-password-7')).status).toBe(401);
    const login = await storefront.login(anonymous.access_token, 'ann@example.com', 'correct-horse');
    expect(login.status).toBe(200);
    presented.push(login.body.access_token, login.body.refresh_token, login.body.saas_token);
    expect((await storefront.logout(login.body.access_token)).status).toBe(204);
    await flushAll();
    const sums = sumMetrics(emfDocuments());
    const added = (key: string) => (sums[key] ?? 0) - (before[key] ?? 0);
    expect(added('storefront LoginsFailed')).toBe(1);
    expect(added('storefront TokensIssued Grant=login')).toBe(1);
    expect(added('storefront FamiliesRevoked')).toBe(1);
  });

  it('counts a signup mail sent, and the confirmation link handing out tokens', async () => {
    const before = sumMetrics(emfDocuments());
    const bearer = async () => (await storefront.anonymousLogin()).body.access_token as string;
    const password = 'signup-metrics-pass-1';
    presented.push(password);
    const created = await fetch(`${broker.url}/customer/acme/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await bearer()}` },
      body: JSON.stringify({ email: 'metrics@example.com', password }),
    });
    expect(created.status).toBe(201);
    const mail = readdirSync(broker.outbox).find((name) => name.endsWith('.eml'))!;
    const token = new URL(linkFromMail(readFileSync(join(broker.outbox, mail), 'utf8'), OPT_IN_LINK)).searchParams.get('token')!;
    presented.push(token);
    const confirmed = await fetch(`${broker.url}/customer/acme/signup/optin/${encodeURIComponent(token)}`, {
      headers: { authorization: `Bearer ${await bearer()}` },
    });
    expect(confirmed.status).toBe(200);
    const body = (await confirmed.json()) as Record<string, string>;
    presented.push(body.access_token!, body.refresh_token!, body.saas_token!);
    broker.clock.advance(FLUSH_INTERVAL_MS / 1000);
    await fetch(`${broker.url}/customer/acme/signup/optin/refresh_token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'nobody@example.com' }),
    });
    const sums = sumMetrics(emfDocuments());
    const added = (key: string) => (sums[key] ?? 0) - (before[key] ?? 0);
    expect(added('signup MailsSent')).toBe(1);
    expect(added('signup TokensIssued Grant=signup_optin')).toBe(1);
  });

  it('every EMF line is valid EMF under namespace TokenBroker with only the bounded dimensions', () => {
    const documents = emfDocuments();
    expect(documents.length).toBeGreaterThan(3);
    for (const doc of documents) checkEmf(doc);
    const dimensionNames = new Set(documents.flatMap((doc) => doc._aws.CloudWatchMetrics.flatMap((d) => d.Dimensions.flat())));
    expect([...dimensionNames].sort()).toEqual(expect.arrayContaining(['Service']));
    for (const name of dimensionNames) expect(['Service', 'Grant', 'Tier']).toContain(name);
  });
});

describe('the request line', () => {
  it('is exactly one line per request, naming the route template, the status, the tenant and the client', async () => {
    const before = requestLines().length;
    const linkToken = 'not-a-real-link-token-but-secret-7';
    presented.push(linkToken);
    const answers = [
      (await serviceToken('reports-svc', TEST_SECRETS.reports)).status,
      (await storefront.anonymousLogin()).status,
      (await fetch(`${broker.url}/customer/acme/signup/optin/${linkToken}`)).status,
      (await fetch(`${broker.url}/no/such/route`)).status,
    ];
    const lines = requestLines().slice(before);
    expect(lines).toHaveLength(answers.length);
    expect(lines.map((line) => line.status)).toEqual(answers);
    expect(lines[0]).toEqual({
      level: 'info',
      message: 'POST /oauth/token',
      status: 200,
      ms: expect.any(Number),
      tenant: 'acme',
      clientId: 'reports-svc',
      requestId: expect.stringMatching(/^[A-Za-z0-9+/]{15}=$/),
    });
    expect(lines[1]).toMatchObject({ message: 'GET /customerlogin/auth/anonymous/login', tenant: 'acme', clientId: 'storefront-web' });
    // The route's template, never the path as sent: the sign-up link's token is in the path.
    expect(lines[2]).toMatchObject({ message: 'GET /customer/{tenant}/signup/optin/{token}', tenant: 'acme' });
    expect(lines[3]).toMatchObject({ message: '$default', status: 404, tenant: null, clientId: null });
  });

  it('a cached service token costs one line of at most 140 bytes, and nothing else', async () => {
    const before = broker.logLines.length;
    expect((await serviceToken()).status).toBe(200);
    const lines = broker.logLines.slice(before);
    expect(lines).toHaveLength(1);
    expect(Buffer.byteLength(lines[0]!)).toBeLessThanOrEqual(140);
  });

  it('no line of the log, request, audit or metrics, holds anything a request presented', () => {
    expect(presented.length).toBeGreaterThan(10);
    const log = broker.logLines.join('\n');
    for (const value of presented) expect(log).not.toContain(value);
    expect(log).not.toMatch(/Basic |Bearer |authorization/i);
  });
});
