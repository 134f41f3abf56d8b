import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../bin/seed.js';
import { DynamoDbStore } from '../../functions/adapters/dynamodb/stores.js';
import { startLocalBroker, type LocalBroker } from '../../functions/local/broker.js';
import { jsonLogger } from '../../functions/log.js';
import { parseSeed } from '../../functions/seed/schema.js';
import { basic, postForm, startTestBroker, TEST_SCRYPT, type TestBroker } from '../support/local-broker.js';
import { testSeed, TEST_SECRETS } from '../support/seed.js';
import { Storefront } from '../support/storefront.js';

/**
 * Issue 8, items 2 and 4 (contract sections 3, 4 and 12; operating.md "Incident response"):
 * secret rotation ends, the incident CLI revokes a previous secret or every token of a client,
 * and a client revokes only its own tokens unless it holds `broker.token_revoke`.
 */

const ADMIN = { id: 'admin-svc', secret: 'admin-secret-0001' };
const NEW_ORDERS_SECRET = 'orders-secret-0002';
const OVERLAP = 3600;

function seed(options: { ordersSecret?: string; overlap?: number } = {}) {
  const value = testSeed({ ordersSecret: options.ordersSecret ?? TEST_SECRETS.orders }) as { tenants: Record<string, any> };
  if (options.overlap !== undefined) value.tenants.acme.settings.secretRotationOverlapSeconds = options.overlap;
  value.tenants.acme.serviceClients[ADMIN.id] = { secret: ADMIN.secret, scopes: ['broker.token_revoke'] };
  return value;
}

const audits = (lines: string[], event: string) =>
  lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.message === 'audit' && line.event === event);

async function tokenFor(broker: { url: string }, id: string, secret: string) {
  return postForm(`${broker.url}/oauth/token`, { grant_type: 'client_credentials', client_id: id, client_secret: secret });
}

async function accessToken(broker: { url: string }, id: string, secret: string): Promise<string> {
  const response = await tokenFor(broker, id, secret);
  expect(response.status).toBe(200);
  return ((await response.json()) as { access_token: string }).access_token;
}

async function introspect(broker: { url: string }, token: string, id = 'reports-svc', secret = TEST_SECRETS.reports) {
  const response = await postForm(`${broker.url}/oauth/introspect`, { token }, { authorization: basic(id, secret) });
  expect(response.status).toBe(200);
  return (await response.json()) as Record<string, unknown>;
}

async function revoke(broker: { url: string }, token: string, id: string, secret: string) {
  return postForm(`${broker.url}/oauth/revoke`, { token }, { authorization: basic(id, secret) });
}

describe('secret rotation ends (item 2)', () => {
  let broker: TestBroker;
  beforeAll(async () => {
    broker = await startTestBroker(seed({ overlap: OVERLAP }));
  });
  afterAll(() => broker.stop());

  const reseed = (value: object) => broker.reseed(parseSeed(JSON.stringify(value)));
  const past = (seconds: number) => broker.clock.advance(seconds);

  it('accepts the previous secret for secretRotationOverlapSeconds after a change, then refuses it', async () => {
    const rotatedAt = broker.clock.now;
    const report = await reseed(seed({ overlap: OVERLAP, ordersSecret: NEW_ORDERS_SECRET }));
    past(6); // past the in-memory secrets cache
    expect((await tokenFor(broker, 'orders-svc', NEW_ORDERS_SECRET)).status).toBe(200);
    expect((await tokenFor(broker, 'orders-svc', TEST_SECRETS.orders)).status).toBe(200);
    past(OVERLAP - 7);
    expect((await tokenFor(broker, 'orders-svc', TEST_SECRETS.orders)).status).toBe(200);
    past(1);
    expect((await tokenFor(broker, 'orders-svc', TEST_SECRETS.orders)).status).toBe(401);
    expect((await tokenFor(broker, 'orders-svc', NEW_ORDERS_SECRET)).status).toBe(200);
    expect(report.rotatedSecrets).toEqual([{ clientId: 'orders-svc', previousUntil: rotatedAt + OVERLAP }]);
    // The rotation is audited, once, without either secret.
    const rotated = audits(broker.logLines, 'secret_rotated');
    expect(rotated).toHaveLength(1);
    expect(rotated[0]).toMatchObject({ tenant: 'acme', clientId: 'orders-svc', previousUntil: expect.any(Number) });
    const log = broker.logLines.join('\n');
    expect(log).not.toContain(TEST_SECRETS.orders);
    expect(log).not.toContain(NEW_ORDERS_SECRET);
  });

  it('is not extended by applying the unchanged seed again, which writes no new version', async () => {
    const secretsFile = join(broker.dataDir, 'secrets.json');
    await reseed(seed({ overlap: OVERLAP, ordersSecret: TEST_SECRETS.orders }));
    const rotatedAt = broker.clock.now;
    past(OVERLAP - 100);
    const before = readFileSync(secretsFile, 'utf8');
    const again = await reseed(seed({ overlap: OVERLAP, ordersSecret: TEST_SECRETS.orders }));
    expect((await tokenFor(broker, 'orders-svc', NEW_ORDERS_SECRET)).status).toBe(200);
    broker.clock.now = rotatedAt + OVERLAP;
    expect((await tokenFor(broker, 'orders-svc', NEW_ORDERS_SECRET)).status).toBe(401);
    expect((await tokenFor(broker, 'orders-svc', TEST_SECRETS.orders)).status).toBe(200);
    expect(again).toMatchObject({ secretsRotated: false, rotatedSecrets: [] });
    expect(readFileSync(secretsFile, 'utf8')).toBe(before);
  });

  it('defaults to one day of overlap', async () => {
    await reseed(seed({ ordersSecret: NEW_ORDERS_SECRET }));
    const rotatedAt = broker.clock.now;
    broker.clock.now = rotatedAt + 86399;
    expect((await tokenFor(broker, 'orders-svc', TEST_SECRETS.orders)).status).toBe(200);
    broker.clock.now = rotatedAt + 86400;
    expect((await tokenFor(broker, 'orders-svc', TEST_SECRETS.orders)).status).toBe(401);
  });

  it('audits a failed client authentication with the client id and never the presented secret', async () => {
    expect((await tokenFor(broker, 'orders-svc', 'a-wrong-secret-value')).status).toBe(401);
    expect((await tokenFor(broker, 'no-such-svc', 'another-wrong-secret')).status).toBe(401);
    const failed = audits(broker.logLines, 'client_auth_failed');
    expect(failed.slice(-2)).toMatchObject([
      { tenant: 'acme', clientId: 'orders-svc', reason: 'wrong_secret', sourceIp: expect.any(String), requestId: expect.any(String) },
      { tenant: null, clientId: 'no-such-svc', reason: 'unknown_client' },
    ]);
    const log = broker.logLines.join('\n');
    expect(log).not.toContain('a-wrong-secret-value');
    expect(log).not.toContain('another-wrong-secret');
  });
});

/**
 * The incident CLI runs against a stopped local broker's DATA_DIR (dynalite admits one process),
 * with the broker's TestClock; the broker is then started again on the same DATA_DIR.
 */
describe('incident response through the seed CLI (item 2)', () => {
  let broker: TestBroker;
  let running: LocalBroker | undefined;
  const cliLines: string[] = [];
  const cli = (args: string[]) =>
    main([...args, '--local', '--data-dir', broker.dataDir], { clock: broker.clock.read, log: jsonLogger((line) => cliLines.push(line)) });

  beforeAll(async () => {
    broker = await startTestBroker(seed({ overlap: OVERLAP }));
    running = broker;
  });
  afterEach(async () => {
    await running?.close();
    running = undefined;
  });
  // The first broker was closed through `running`; only its DATA_DIR is left to remove.
  afterAll(() => rmSync(broker.dataDir, { recursive: true, force: true }));

  async function restart(): Promise<LocalBroker> {
    await running?.close();
    running = await startLocalBroker({
      port: 0,
      host: '127.0.0.1',
      dataDir: broker.dataDir,
      seedFile: broker.seedFile,
      clock: broker.clock.read,
      log: jsonLogger((line) => broker.logLines.push(line)),
      scrypt: TEST_SCRYPT,
    });
    return running;
  }

  it('--revoke-previous-secret ends the rotation overlap at once', async () => {
    await running?.close();
    running = undefined;
    // The rotation itself, applied by the CLI as an operator would.
    writeFileSync(broker.seedFile, JSON.stringify(seed({ overlap: OVERLAP, ordersSecret: NEW_ORDERS_SECRET })));
    expect(await cli([broker.seedFile])).toBe(0);
    expect(audits(cliLines, 'secret_rotated')).toMatchObject([
      { tenant: 'acme', clientId: 'orders-svc', previousUntil: broker.clock.now + OVERLAP },
    ]);
    let local = await restart();
    expect((await tokenFor(local, 'orders-svc', TEST_SECRETS.orders)).status).toBe(200);
    await local.close();
    running = undefined;

    expect(await cli(['--revoke-previous-secret', 'orders-svc'])).toBe(0);
    expect(audits(cliLines, 'secret_rotated').at(-1)).toMatchObject({ tenant: 'acme', clientId: 'orders-svc', change: 'previous_revoked' });
    local = await restart();
    expect((await tokenFor(local, 'orders-svc', TEST_SECRETS.orders)).status).toBe(401);
    expect((await tokenFor(local, 'orders-svc', NEW_ORDERS_SECRET)).status).toBe(200);
    await local.close();
    running = undefined;
    // Nothing left to revoke; an unknown client is an error.
    expect(await cli(['--revoke-previous-secret', 'orders-svc'])).toBe(0);
    expect(await cli(['--revoke-previous-secret', 'no-such-svc'])).toBe(1);
    expect(cliLines.join('\n')).not.toContain(TEST_SECRETS.orders);
    expect(cliLines.join('\n')).not.toContain(NEW_ORDERS_SECRET);
  });

  it('--revoke-client-tokens makes every token issued to the client inactive, the cached one included', async () => {
    const secret = (JSON.parse(readFileSync(broker.seedFile, 'utf8')) as ReturnType<typeof seed>).tenants.acme.serviceClients['orders-svc']
      .secret as string;
    let local = await restart();
    const before = await accessToken(local, 'orders-svc', secret);
    // The shared cached token: the same token comes back.
    expect(await accessToken(local, 'orders-svc', secret)).toBe(before);
    expect(await introspect(local, before)).toMatchObject({ active: true, client_id: 'orders-svc' });
    await local.close();
    running = undefined;

    expect(await cli(['--revoke-client-tokens', 'orders-svc'])).toBe(0);
    expect(audits(cliLines, 'client_tokens_revoked')).toMatchObject([
      { tenant: 'acme', clientId: 'orders-svc', tokensRevokedAt: broker.clock.now },
    ]);

    // In the same second as the revocation: the old token is dead, a new one is minted and lives.
    local = await restart();
    expect(await introspect(local, before)).toEqual({ active: false });
    const after = await accessToken(local, 'orders-svc', secret);
    expect(after).not.toBe(before);
    expect(await introspect(local, after)).toMatchObject({ active: true, client_id: 'orders-svc' });
    expect(await accessToken(local, 'orders-svc', secret)).toBe(after);
    // Another client is untouched; a seed applied again keeps the revocation.
    const reports = await accessToken(local, 'reports-svc', TEST_SECRETS.reports);
    await local.reseed(parseSeed(readFileSync(broker.seedFile, 'utf8')));
    broker.clock.advance(61);
    expect(await introspect(local, before)).toEqual({ active: false });
    expect(await introspect(local, reports)).toMatchObject({ active: true });
    await local.close();
    running = undefined;
    expect(await cli(['--revoke-client-tokens', 'no-such-svc'])).toBe(1);
  });

  it('--revoke-client-tokens names a storefront client too, and ends the sessions it started', async () => {
    let local = await restart();
    const storefront = new Storefront(local.url);
    const before = (await storefront.anonymousLogin()).body;
    await local.close();
    running = undefined;

    expect(await cli(['--revoke-client-tokens', 'storefront-web'])).toBe(0);
    expect(audits(cliLines, 'client_tokens_revoked').at(-1)).toMatchObject({
      tenant: 'acme',
      clientId: 'storefront-web',
      kind: 'storefront',
      tokensRevokedAt: broker.clock.now,
    });

    local = await restart();
    const restarted = new Storefront(local.url);
    expect((await restarted.anonymousRefresh({ refresh_token: before.refresh_token })).status).toBe(401);
    broker.clock.advance(1);
    const after = (await restarted.anonymousLogin()).body;
    expect((await restarted.anonymousRefresh({ refresh_token: after.refresh_token })).status).toBe(200);
  });

  it('refuses a DATA_DIR that holds no broker, and a command with a seed file', async () => {
    expect(
      await main(['--revoke-client-tokens', 'orders-svc', '--local', '--data-dir', join(broker.dataDir, 'nothing')]).catch(
        (e: Error) => e.message,
      ),
    ).toMatch(/holds no local broker data/);
    expect(await cli(['--revoke-client-tokens', 'orders-svc', broker.seedFile])).toBe(2);
  });
});

describe('a running broker sees a client-token revocation within the directory cache time', () => {
  let broker: TestBroker;
  beforeAll(async () => {
    broker = await startTestBroker(seed());
  });
  afterAll(() => broker.stop());

  it('stops handing out the cached token and introspects it inactive after 60 s', async () => {
    const before = await accessToken(broker, 'orders-svc', TEST_SECRETS.orders);
    expect(await introspect(broker, before)).toMatchObject({ active: true });
    // Another process (the CLI on AWS) writes the mark; this broker's directory cache still holds the client.
    const store = new DynamoDbStore(broker.dynamoClient, 'token-broker');
    expect(await store.revokeServiceClientTokens('orders-svc', broker.clock.now)).toBeDefined();
    broker.clock.advance(61);
    expect(await introspect(broker, before)).toEqual({ active: false });
    const after = await accessToken(broker, 'orders-svc', TEST_SECRETS.orders);
    expect(after).not.toBe(before);
    expect(await introspect(broker, after)).toMatchObject({ active: true });
  });
});

describe('revocation rights (item 4, RFC 7009 section 2.1)', () => {
  let broker: TestBroker;
  const storefront = () => new Storefront(broker.url);
  // A service client that shares its id with the storefront client: it was still issued no session.
  const TWIN = { id: 'storefront-web', secret: 'twin-secret-0001' };
  beforeAll(async () => {
    const value = seed() as { tenants: Record<string, any> };
    value.tenants.acme.serviceClients[TWIN.id] = { secret: TWIN.secret, scopes: ['order.order_read'] };
    broker = await startTestBroker(value);
  });
  afterAll(() => broker.stop());

  it('a client cannot revoke another client’s token: 200, and the token stays alive', async () => {
    const orders = await accessToken(broker, 'orders-svc', TEST_SECRETS.orders);
    const answer = await revoke(broker, orders, 'reports-svc', TEST_SECRETS.reports);
    expect(answer.status).toBe(200);
    expect(await introspect(broker, orders)).toMatchObject({ active: true, client_id: 'orders-svc' });
    expect(audits(broker.logLines, 'token_revoked')).toHaveLength(0);
  });

  it('a client revokes its own token, and the revocation is audited', async () => {
    const reports = await accessToken(broker, 'reports-svc', TEST_SECRETS.reports);
    expect((await revoke(broker, reports, 'reports-svc', TEST_SECRETS.reports)).status).toBe(200);
    expect(await introspect(broker, reports)).toEqual({ active: false });
    expect(audits(broker.logLines, 'token_revoked').at(-1)).toMatchObject({
      tenant: 'acme',
      clientId: 'reports-svc',
      tokenClientId: 'reports-svc',
    });
    expect(broker.logLines.join('\n')).not.toContain(reports);
  });

  it('a storefront session needs broker.token_revoke: without it the session stays alive', async () => {
    const { login } = await storefront().customer();
    expect((await revoke(broker, login.refresh_token, 'reports-svc', TEST_SECRETS.reports)).status).toBe(200);
    expect(await introspect(broker, login.access_token)).toMatchObject({ active: true });
    expect((await revoke(broker, login.access_token, TWIN.id, TWIN.secret)).status).toBe(200);
    expect(await introspect(broker, login.access_token)).toMatchObject({ active: true });
    expect((await storefront().validate(login.access_token)).status).toBe(200);

    expect((await revoke(broker, login.refresh_token, ADMIN.id, ADMIN.secret)).status).toBe(200);
    expect(await introspect(broker, login.access_token)).toEqual({ active: false });
    expect(audits(broker.logLines, 'token_revoked').at(-1)).toMatchObject({ tenant: 'acme', clientId: ADMIN.id, kind: 'session' });
  });

  it('broker.token_revoke also reaches another client’s service token, of its own tenant only', async () => {
    const orders = await accessToken(broker, 'orders-svc', TEST_SECRETS.orders);
    const globex = await accessToken(broker, 'globex-svc', TEST_SECRETS.globex);
    expect((await revoke(broker, globex, ADMIN.id, ADMIN.secret)).status).toBe(200);
    expect(await introspect(broker, globex, 'globex-svc', TEST_SECRETS.globex)).toMatchObject({ active: true });
    expect((await revoke(broker, orders, ADMIN.id, ADMIN.secret)).status).toBe(200);
    expect(await introspect(broker, orders)).toEqual({ active: false });
  });

  it('introspection says inactive for tokens of a removed client, or of a storefront client the tenant no longer lists', async () => {
    const reports = await accessToken(broker, 'reports-svc', TEST_SECRETS.reports);
    const { login } = await storefront().customer();
    expect(await introspect(broker, reports, 'orders-svc', TEST_SECRETS.orders)).toMatchObject({ active: true });
    expect(await introspect(broker, login.access_token, 'orders-svc', TEST_SECRETS.orders)).toMatchObject({ active: true });

    const smaller = seed() as { tenants: Record<string, any> };
    delete smaller.tenants.acme.serviceClients['reports-svc'];
    smaller.tenants.acme.storefrontClients = ['storefront-next'];
    await broker.reseed(parseSeed(JSON.stringify(smaller)));
    expect(await introspect(broker, reports, 'orders-svc', TEST_SECRETS.orders)).toEqual({ active: false });
    expect(await introspect(broker, login.access_token, 'orders-svc', TEST_SECRETS.orders)).toEqual({ active: false });
  });
});

describe('a storefront client whose tokens are revoked (incident response)', () => {
  let broker: TestBroker;
  beforeAll(async () => {
    broker = await startTestBroker(seed(), { scrypt: TEST_SCRYPT });
  });
  afterAll(() => broker.stop());

  it('ends every session it started, anonymous and customer, within the directory cache time; new sessions work', async () => {
    const storefront = new Storefront(broker.url);
    const anonymous = (await storefront.anonymousLogin()).body;
    const { login } = await storefront.customer();
    expect((await storefront.validate(login.access_token)).status).toBe(200);

    // The CLI's write, as it lands from another process; a later seed must keep it.
    const store = new DynamoDbStore(broker.dynamoClient, 'token-broker');
    expect(await store.revokeStorefrontClientTokens('acme', 'storefront-web', broker.clock.now)).toBe(true);
    await broker.reseed(parseSeed(JSON.stringify(seed())));
    broker.clock.advance(61);

    expect((await storefront.anonymousRefresh({ refresh_token: anonymous.refresh_token })).status).toBe(401);
    expect((await storefront.anonymousRefresh({ anonymous_token: anonymous.access_token })).status).toBe(401);
    expect((await storefront.refresh(login.refresh_token)).status).toBe(401);
    expect((await storefront.validate(login.access_token)).status).toBe(401);
    expect(await introspect(broker, login.access_token)).toEqual({ active: false });
    expect((await storefront.login(anonymous.access_token, 'ann@example.com', 'correct-horse')).status).toBe(401);

    // A session started after the revocation lives, and a store without that tenant refuses the mark.
    broker.clock.advance(1);
    const fresh = (await storefront.anonymousLogin()).body;
    expect((await storefront.anonymousRefresh({ refresh_token: fresh.refresh_token })).status).toBe(200);
    expect(await store.revokeStorefrontClientTokens('nosuchtenant', 'storefront-web', broker.clock.now)).toBe(false);
  });
});
