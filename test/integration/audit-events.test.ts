import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basic, postForm, startTestBroker, type TestBroker } from '../support/local-broker.js';
import { TEST_SECRETS, testSeed } from '../support/seed.js';
import { Storefront } from '../support/storefront.js';
import { parseSeed } from '../../functions/seed/schema.js';

/**
 * Contract section 12: security-relevant events are structured log lines with a fixed `event`
 * name, the tenant, the client id, the source IP and the request id, and never a token, secret
 * or password. These drive each event the way an attacker or an operator would, then read the log.
 */

interface AuditLine {
  level: string;
  message: string;
  event: string;
  tenant: string | null;
  clientId: string | null;
  sourceIp: string;
  requestId: string;
  [field: string]: unknown;
}

let broker: TestBroker;
let storefront: Storefront;
/** Everything a request presented that must never reach the log. */
const presented: string[] = [];

const auditLines = (): AuditLine[] =>
  broker.logLines.map((line) => JSON.parse(line) as AuditLine).filter((line) => line.message === 'audit');
const eventsNamed = (event: string) => auditLines().filter((line) => line.event === event);

beforeAll(async () => {
  broker = await startTestBroker();
  storefront = new Storefront(broker.url);
});
afterAll(() => broker.stop());

describe('audit events over real HTTP', () => {
  it('a failed client authentication names the client and the caller, not the secret', async () => {
    const wrongSecret = 'not-the-orders-secret-42';
    presented.push(wrongSecret);
    const response = await postForm(
      `${broker.url}/oauth/token`,
      { grant_type: 'client_credentials' },
      {
        authorization: basic('orders-svc', wrongSecret),
      },
    );
    expect(response.status).toBe(401);
    expect(eventsNamed('client_auth_failed')).toContainEqual(
      expect.objectContaining({
        tenant: 'acme',
        clientId: 'orders-svc',
        sourceIp: '127.0.0.1',
        requestId: expect.stringMatching(/^[A-Za-z0-9+/]{15}=$/),
      }),
    );
  });

  it('failed logins, then the lockout, are each an event for the account', async () => {
    const anonymous = (await storefront.anonymousLogin()).body;
    presented.push(anonymous.access_token, anonymous.refresh_token);
    let status = 0;
    for (let attempt = 0; attempt < 10 && status !== 429; attempt++) {
      const guess = `wrong-password-${attempt}`;
      presented.push(guess);
      status = (await storefront.login(anonymous.access_token, 'ann@example.com', guess)).status;
      broker.clock.advance(30);
    }
    expect(status).toBe(429);
    expect(eventsNamed('login_failed').length).toBeGreaterThanOrEqual(1);
    expect(eventsNamed('login_failed')[0]).toMatchObject({ tenant: 'acme', clientId: 'storefront-web', sourceIp: '127.0.0.1' });
    expect(eventsNamed('login_locked')[0]).toMatchObject({ tenant: 'acme', sourceIp: '127.0.0.1' });
  });

  it('a refresh token replayed after its grace window is reuse, and its family is revoked', async () => {
    const anonymous = (await storefront.anonymousLogin()).body;
    const next = (await storefront.anonymousRefresh({ refresh_token: anonymous.refresh_token })).body;
    presented.push(anonymous.access_token, anonymous.refresh_token, next.access_token, next.refresh_token);
    broker.clock.advance(60);
    expect((await storefront.anonymousRefresh({ refresh_token: anonymous.refresh_token })).status).toBe(401);
    expect(eventsNamed('refresh_reuse_detected')).toContainEqual(
      expect.objectContaining({ tenant: 'acme', clientId: 'storefront-web', sourceIp: '127.0.0.1' }),
    );
    expect(eventsNamed('family_revoked')).toContainEqual(expect.objectContaining({ tenant: 'acme', clientId: 'storefront-web' }));
  });

  it('a revoked token is an event naming the revoking client', async () => {
    const token = (await (
      await postForm(
        `${broker.url}/oauth/token`,
        { grant_type: 'client_credentials' },
        { authorization: basic('reports-svc', TEST_SECRETS.reports) },
      )
    ).json()) as { access_token: string };
    presented.push(token.access_token);
    const revoked = await postForm(
      `${broker.url}/oauth/revoke`,
      { token: token.access_token },
      {
        authorization: basic('reports-svc', TEST_SECRETS.reports),
      },
    );
    expect(revoked.status).toBe(200);
    expect(eventsNamed('token_revoked')).toContainEqual(
      expect.objectContaining({ tenant: 'acme', clientId: 'reports-svc', sourceIp: '127.0.0.1' }),
    );
  });

  it("an operator's seed that rotates a secret and changes a password is audited per client and per customer", async () => {
    const seed = testSeed({ ordersSecret: 'orders-secret-0002' });
    seed.tenants.acme.customers[0]!.password = 'a-new-horse-battery';
    presented.push('orders-secret-0002', 'a-new-horse-battery');
    await broker.reseed(parseSeed(JSON.stringify(seed)));
    expect(eventsNamed('secret_rotated')).toContainEqual(expect.objectContaining({ tenant: 'acme', clientId: 'orders-svc' }));
    expect(eventsNamed('customer_sessions_ended')).toContainEqual(expect.objectContaining({ tenant: 'acme' }));
  });

  it('every audit line has the fixed fields, and no line of the log holds anything a caller presented', () => {
    expect(auditLines().length).toBeGreaterThanOrEqual(6);
    for (const line of auditLines()) {
      expect(Object.keys(line)).toEqual(expect.arrayContaining(['event', 'tenant', 'clientId', 'sourceIp', 'requestId']));
    }
    const log = broker.logLines.join('\n');
    for (const value of [...presented, ...Object.values(TEST_SECRETS), 'correct-horse']) expect(log).not.toContain(value);
  });
});
