import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetSecretValueCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main, seedStack } from '../../bin/seed.js';
import { SCRYPT_PARAMS } from '../../functions/domain/passwords.js';
import { jsonLogger } from '../../functions/log.js';
import { DynamoDbStore } from '../../functions/adapters/dynamodb/stores.js';
import { startEmbeddedDynamoDb } from '../../functions/local/embedded-dynamodb.js';
import { parseSeed } from '../../functions/seed/schema.js';
import { MemoryStore } from '../../functions/adapters/memory-store.js';
import type { ClientSecretsDocument } from '../../functions/domain/client-secrets.js';
import { KEY_CACHES_SECONDS, PUBLICATION_LEAD_SECONDS, type PrivateSigningKey } from '../../functions/domain/signing-keys.js';
import { applySeed } from '../../functions/seed/apply.js';
import { seedTarget } from '../../functions/wiring.js';
import { postForm, startTestBroker, TEST_SCRYPT, type TestBroker } from '../support/local-broker.js';
import { testSeed, TEST_SECRETS } from '../support/seed.js';

const run = promisify(execFile);

async function seedCli(args: string[]) {
  return run(process.execPath, ['--import', 'tsx', 'bin/seed.ts', ...args], {
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => error,
  );
}

describe('the seed CLI', () => {
  const dir = mkdtempSync(join(tmpdir(), 'token-broker-seed-'));

  it('refuses an invalid seed, naming the field, and writes nothing', async () => {
    const bad = join(dir, 'bad.json');
    const seed = testSeed();
    (seed.tenants.acme.serviceClients['orders-svc'] as { profile?: string }).profile = 'soap';
    writeFileSync(bad, JSON.stringify(seed));
    const result = await seedCli([bad, '--local', '--data-dir', join(dir, 'untouched')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('tenants.acme.serviceClients.orders-svc.profile');
    expect(existsSync(join(dir, 'untouched'))).toBe(false);
  });

  it('applies a seed locally, and applying it again changes nothing', async () => {
    const file = join(dir, 'seed.json');
    writeFileSync(file, JSON.stringify(testSeed()));
    const first = await seedCli([file, '--local', '--data-dir', join(dir, 'data')]);
    expect(first).toMatchObject({ code: 0 });
    expect(first.stdout).toContain('client secrets updated');
    const second = await seedCli([file, '--local', '--data-dir', join(dir, 'data')]);
    expect(second.stdout).toContain('client secrets unchanged');
  });

  it('explains its usage when the target is missing', async () => {
    const result = await seedCli([join(dir, 'seed.json')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('usage: seed');
  });
});

describe('the seed CLI on a long seed (issue 14, item 9)', () => {
  const PASSWORDS = Array.from({ length: 6 }, (_, i) => `sekret-pass-${i}-horse`);
  function manyCustomers(suffix: string) {
    const seed = testSeed() as { tenants: Record<string, any> };
    seed.tenants.acme.customers = PASSWORDS.map((password, i) => ({
      email: `customer${i}@example.com`,
      password: `${password}${suffix}`,
      customerNumber: `C-${2000 + i}`,
      legalEntities: ['LE-1'],
    }));
    return seed;
  }

  it('prints its usage with --help (the runbook points there)', async () => {
    const stdout: string[] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((line: string) => void stdout.push(line));
    try {
      expect(await main(['--help'])).toBe(0);
    } finally {
      spy.mockRestore();
    }
    expect(stdout.join('\n')).toMatch(
      /usage: seed <seed\.json>.*--revoke-previous-secret.*--revoke-client-tokens.*--end-customer-sessions/s,
    );
  });

  it('prints plain progress lines on stderr when it is no terminal, and never a password', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'token-broker-seed-progress-'));
    const file = join(dataDir, 'seed.json');
    const stderr: string[] = [];
    const stdout: string[] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((line: string) => void stdout.push(line));
    const context = {
      clock: () => 1_900_000_000,
      scrypt: TEST_SCRYPT,
      stderr: { write: (text: string) => stderr.push(text), isTTY: false },
    };
    try {
      writeFileSync(file, JSON.stringify(manyCustomers('')));
      expect(await main([file, '--local', '--data-dir', dataDir], context)).toBe(0);
      const lines = stderr.join('').split('\n').filter(Boolean);
      // Six customers: a line for each (every 10 %, rounded up to one), the last one with the total time.
      expect(lines.slice(0, 5)).toEqual(
        [1, 2, 3, 4, 5].map((done) =>
          expect.stringMatching(new RegExp(`^seed: customers ${done}/6 \\(\\d+%\\)(, [\\d.]+/s, about .+ left)?$`)),
        ),
      );
      expect(lines[5]).toMatch(/^seed: customers 6\/6 in [\d.]+ s( \([\d.]+\/s\))?$/);
      expect(lines).toHaveLength(6);
      expect(stderr.join('')).not.toContain('\r');
      expect(stdout.join('\n')).toContain('customers: 6;');

      // Changed passwords end sessions: their audit lines go to stderr too, between the progress lines.
      stderr.length = 0;
      writeFileSync(file, JSON.stringify(manyCustomers('-new')));
      expect(await main([file, '--local', '--data-dir', dataDir], { ...context, clock: () => 1_900_000_100 })).toBe(0);
      const again = stderr.join('').split('\n').filter(Boolean);
      expect(again.filter((line) => line.startsWith('seed: customers'))).toHaveLength(6);
      expect(again.filter((line) => line.includes('"customer_sessions_ended"')).length).toBeGreaterThanOrEqual(6);

      const output = [...stdout, ...stderr].join('\n');
      for (const password of PASSWORDS) expect(output).not.toContain(password);
    } finally {
      spy.mockRestore();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('secret rotation through the seed', () => {
  let broker: TestBroker;
  const token = (secret: string) =>
    postForm(`${broker.url}/oauth/token`, { grant_type: 'client_credentials', client_id: 'orders-svc', client_secret: secret });

  beforeAll(async () => {
    // Production's scrypt cost: the first test checks what the seed stores.
    broker = await startTestBroker(testSeed(), { scrypt: SCRYPT_PARAMS });
  });
  afterAll(() => broker.stop());

  async function rotateTo(secret: string) {
    await broker.reseed(parseSeed(JSON.stringify(testSeed({ ordersSecret: secret }))));
    broker.clock.advance(6); // past the in-memory secrets cache
  }

  it('keeps a customer’s stored hash when the seed is applied again, and re-hashes a changed password', async () => {
    const customers = broker.storefront.customers;
    const before = await customers.getCustomer('acme', 'ann@example.com');
    expect(before?.passwordHash).toMatch(/^scrypt\$131072\$8\$1\$/);
    expect(before?.passwordHash).not.toContain('correct-horse');
    const again = await broker.reseed(parseSeed(JSON.stringify(testSeed())));
    expect(again).toMatchObject({ secretsRotated: false, signingKey: 'kept', customers: 1 });
    expect((await customers.getCustomer('acme', 'ann@example.com'))?.passwordHash).toBe(before?.passwordHash);

    const changed = testSeed();
    changed.tenants.acme.customers[0]!.password = 'a-new-password';
    await broker.reseed(parseSeed(JSON.stringify(changed)));
    expect((await customers.getCustomer('acme', 'ann@example.com'))?.passwordHash).not.toBe(before?.passwordHash);
    await broker.reseed(parseSeed(JSON.stringify(testSeed())));
  });

  it('accepts the previous secret within its overlap, and only the latest previous one after a second rotation', async () => {
    await rotateTo('orders-secret-0002');
    expect((await token('orders-secret-0002')).status).toBe(200);
    expect((await token(TEST_SECRETS.orders)).status).toBe(200);

    await rotateTo('orders-secret-0003');
    expect((await token('orders-secret-0003')).status).toBe(200);
    expect((await token('orders-secret-0002')).status).toBe(200);
    expect((await token(TEST_SECRETS.orders)).status).toBe(401);
  });
});

describe('a seed that drops a client and a tenant', () => {
  let broker: TestBroker;
  beforeAll(async () => {
    broker = await startTestBroker();
  });
  afterAll(() => broker.stop());

  it('ends them at once: the client’s secret is dropped and its directory entry deleted, so it no longer authenticates', async () => {
    const reports = () =>
      postForm(`${broker.url}/oauth/token`, {
        grant_type: 'client_credentials',
        client_id: 'reports-svc',
        client_secret: TEST_SECRETS.reports,
      });
    const globexLogin = () => fetch(`${broker.url}/customerlogin/auth/anonymous/login?tenant=globex&client_id=globex-web`);
    expect((await reports()).status).toBe(200);
    expect((await globexLogin()).status).toBe(200);

    const smaller = testSeed() as { tenants: Record<string, any> };
    delete smaller.tenants.acme.serviceClients['reports-svc'];
    delete smaller.tenants.globex;
    const report = await broker.reseed(parseSeed(JSON.stringify(smaller)));
    expect(report.removed.sort()).toEqual(['client globex-svc', 'client reports-svc', 'tenant globex']);

    expect((await reports()).status).toBe(401);
    expect((await globexLogin()).status).toBe(401);
    const orders = await postForm(`${broker.url}/oauth/token`, {
      grant_type: 'client_credentials',
      client_id: 'orders-svc',
      client_secret: TEST_SECRETS.orders,
    });
    expect(orders.status).toBe(200);
  });
});

describe('app clients through the seed (contract section 8)', () => {
  const PARTNER_SECRET = 'partner-secret-0001';
  /** testSeed() with a public and a confidential app client in acme and a public one in globex. */
  function withApps(options: { partnerSecret?: string; shop?: boolean; partner?: boolean } = {}) {
    const seed = testSeed() as { tenants: Record<string, any> };
    seed.tenants.acme.appClients = {
      ...(options.shop === false
        ? {}
        : {
            'shop-app': {
              type: 'public',
              redirectUris: ['com.acme.shop:/callback', 'http://127.0.0.1/callback'],
              scopes: ['customer.customer_read_own'],
            },
          }),
      ...(options.partner === false
        ? {}
        : {
            'partner-portal': {
              type: 'confidential',
              secret: options.partnerSecret ?? PARTNER_SECRET,
              redirectUris: ['https://partner.example/cb'],
              accessTokenFormat: 'jwt',
              audience: 'https://api.acme.example',
            },
          }),
    };
    seed.tenants.globex.appClients = { 'globex-app': { type: 'public', redirectUris: ['https://globex.example/cb'] } };
    return parseSeed(JSON.stringify(seed));
  }

  let broker: TestBroker;
  beforeAll(async () => {
    broker = await startTestBroker(withApps());
  });
  afterAll(() => broker.stop());
  const verify = (clientId: string, secret: string) => broker.deps.secrets.verify(clientId, secret);

  it('writes them to the directory with their tenant and no secret, and applying the seed again changes nothing', async () => {
    expect(broker.seedReport.appClients.sort()).toEqual(['globex-app', 'partner-portal', 'shop-app']);
    const partner = await broker.deps.directory.getAppClient('partner-portal');
    expect(partner).toEqual({
      clientId: 'partner-portal',
      tenant: 'acme',
      type: 'confidential',
      redirectUris: ['https://partner.example/cb'],
      scopes: [],
      accessTokenFormat: 'jwt',
      audience: 'https://api.acme.example',
    });
    expect(JSON.stringify(partner)).not.toContain(PARTNER_SECRET);
    expect(await broker.deps.directory.getAppClient('shop-app')).toMatchObject({
      tenant: 'acme',
      type: 'public',
      scopes: ['customer.customer_read_own'],
      accessTokenFormat: 'opaque',
    });
    expect(await broker.deps.directory.getAppClient('globex-app')).toMatchObject({ tenant: 'globex', type: 'public' });

    const again = await broker.reseed(withApps());
    expect(again).toMatchObject({ secretsRotated: false, removed: [] });
  });

  it('puts a confidential client’s secret beside the service clients’, so the broker’s secrets.verify checks it; a public client has none', async () => {
    expect(await verify('partner-portal', PARTNER_SECRET)).toBe(true);
    expect(await verify('partner-portal', 'partner-secret-0009')).toBe(false);
    expect(await verify('shop-app', '')).toBe(false);
    const onDisk = JSON.parse(readFileSync(join(broker.dataDir, 'secrets.json'), 'utf8')).clientSecrets.current;
    expect(Object.keys(onDisk).sort()).toEqual(['globex-svc', 'orders-svc', 'partner-portal', 'reports-svc']);
  });

  it('rotates a changed secret as a service client’s: the previous one is accepted within the overlap, then refused', async () => {
    const lines = broker.logLines.length;
    const rotated = await broker.reseed(withApps({ partnerSecret: 'partner-secret-0002' }));
    const now = broker.clock.now;
    expect(rotated.rotatedSecrets).toEqual([{ clientId: 'partner-portal', previousUntil: now + 86400 }]);
    expect(broker.logLines.slice(lines).map((line) => JSON.parse(line))).toContainEqual(
      expect.objectContaining({ event: 'secret_rotated', tenant: 'acme', clientId: 'partner-portal', change: 'seed' }),
    );
    broker.clock.advance(6); // past the in-memory secrets cache
    expect(await verify('partner-portal', 'partner-secret-0002')).toBe(true);
    expect(await verify('partner-portal', PARTNER_SECRET)).toBe(true);
    broker.clock.advance(86400);
    expect(await verify('partner-portal', 'partner-secret-0002')).toBe(true);
    expect(await verify('partner-portal', PARTNER_SECRET)).toBe(false);
  });

  it('removes the app clients it no longer names, and a removed confidential client’s secret with it', async () => {
    const withoutShop = await broker.reseed(withApps({ partnerSecret: 'partner-secret-0002', shop: false }));
    expect(withoutShop.removed).toEqual(['app client shop-app']);
    expect(withoutShop.appClients.sort()).toEqual(['globex-app', 'partner-portal']);
    expect(await broker.deps.directory.getAppClient('shop-app')).toBeUndefined();
    expect(await broker.deps.directory.getAppClient('partner-portal')).toBeDefined();

    const withoutPartner = await broker.reseed(withApps({ shop: false, partner: false }));
    expect(withoutPartner.removed).toEqual(['app client partner-portal']);
    expect(await broker.deps.directory.getAppClient('partner-portal')).toBeUndefined();
    expect((await broker.deps.directory.listAppClientIds()).sort()).toEqual(['globex-app']);
    broker.clock.advance(6);
    expect(await verify('partner-portal', 'partner-secret-0002')).toBe(false);
    // The service clients are untouched.
    expect(await verify('orders-svc', TEST_SECRETS.orders)).toBe(true);
  });

  it('lets the incident CLI revoke an app client’s tokens, audited, and keeps the mark through the next seed', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'token-broker-seed-apps-'));
    const file = join(dataDir, 'seed.json');
    writeFileSync(file, JSON.stringify(withApps()));
    const quiet = jsonLogger(() => {});
    expect(await main([file, '--local', '--data-dir', dataDir], { clock: () => 1_900_000_000, log: quiet })).toBe(0);
    const lines: string[] = [];
    const code = await main(['--revoke-client-tokens', 'shop-app', '--local', '--data-dir', dataDir], {
      clock: () => 1_900_000_500,
      log: jsonLogger((line) => lines.push(line)),
    });
    expect(code).toBe(0);
    expect(lines.map((line) => JSON.parse(line))).toMatchObject([
      {
        message: 'audit',
        event: 'client_tokens_revoked',
        tenant: 'acme',
        clientId: 'shop-app',
        kind: 'app',
        tokensRevokedAt: 1_900_000_500,
      },
    ]);
    expect(await main([file, '--local', '--data-dir', dataDir], { clock: () => 1_900_000_600, log: quiet })).toBe(0);
    const dynamo = await startEmbeddedDynamoDb(join(dataDir, 'dynamodb'));
    try {
      const store = new DynamoDbStore(dynamo.client, dynamo.tableName);
      expect(await store.getAppClient('shop-app')).toMatchObject({ tenant: 'acme', tokensRevokedAt: 1_900_000_500 });
      expect((await store.getAppClient('partner-portal'))?.tokensRevokedAt).toBeUndefined();
    } finally {
      await dynamo.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('the signing key a seed rotates', () => {
  /** The old key's last published second after a rotation, for a seed whose acme tenant is shaped by `change`. */
  async function oldKeyNotAfter(change: (acme: any) => void): Promise<number | undefined> {
    const store = new MemoryStore();
    let secrets: ClientSecretsDocument = {};
    let keys: PrivateSigningKey[] = [];
    const target = seedTarget(
      { directory: store, sessions: store, customers: store, publicKeys: store, authorizations: store },
      {
        clientSecrets: {
          currentClientSecrets: async () => secrets,
          putClientSecrets: async (next) => {
            secrets = next;
          },
        },
        signingKeys: {
          currentSigningKeys: async () => keys,
          putSigningKeys: async (next) => {
            keys = next;
          },
        },
        providerSecrets: { currentProviderSecrets: async () => ({}), putProviderSecrets: async () => {} },
      },
    );
    const raw = testSeed() as { tenants: Record<string, any> };
    delete raw.tenants.globex; // its default customer access lifetime would be the longest
    change(raw.tenants.acme);
    const seed = parseSeed(JSON.stringify(raw));
    await applySeed(seed, target, { now: NOW, scrypt: TEST_SCRYPT });
    await applySeed(seed, target, { now: NOW, scrypt: TEST_SCRYPT, rotateSigningKey: true });
    const published = await store.getPublishedKeys();
    expect(published).toHaveLength(2);
    return published[1]!.notAfter;
  }
  const NOW = 1_900_000_000;
  const retiredAfter = (lifetime: number) => NOW + PUBLICATION_LEAD_SECONDS + lifetime + KEY_CACHES_SECONDS;

  it('stays published for the longest token it signs: customer tokens, and service or grant tokens only when a client gets JWTs', async () => {
    const long = { customerAccess: 600, serviceAccess: 20000, grantAccess: 30000 };
    expect(await oldKeyNotAfter((acme) => (acme.settings.lifetimes = long))).toBe(retiredAfter(600));
    expect(
      await oldKeyNotAfter((acme) => {
        acme.settings.lifetimes = long;
        acme.serviceClients['reports-svc'].accessTokenFormat = 'jwt';
      }),
    ).toBe(retiredAfter(20000));
    expect(
      await oldKeyNotAfter((acme) => {
        acme.settings.lifetimes = long;
        acme.appClients = { 'shop-app': { type: 'public', redirectUris: ['com.acme.shop:/cb'], accessTokenFormat: 'jwt' } };
      }),
    ).toBe(retiredAfter(30000));
  });
});

describe('seeding a deployed stack', () => {
  const cfn = mockClient(CloudFormationClient);
  const sm = mockClient(SecretsManagerClient);
  const saved = { ...process.env };

  afterAll(() => {
    process.env = saved;
    cfn.restore();
    sm.restore();
  });

  it('finds the table and the secret by the stack outputs and rotates only on change', async () => {
    const dynamo = await startEmbeddedDynamoDb(undefined);
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_REGION: 'eu-central-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
    });
    cfn.on(DescribeStacksCommand, { StackName: 'TokenBroker' }).resolves({
      Stacks: [
        {
          StackName: 'TokenBroker',
          CreationTime: new Date(),
          StackStatus: 'CREATE_COMPLETE',
          Outputs: [
            { OutputKey: 'TableName', OutputValue: dynamo.tableName },
            { OutputKey: 'ClientSecretsArn', OutputValue: 'arn:aws:secretsmanager:eu-central-1:1:secret:clients' },
            { OutputKey: 'SigningKeysSecretArn', OutputValue: 'arn:aws:secretsmanager:eu-central-1:1:secret:signing' },
          ],
        },
      ],
    });
    const stored: Record<string, string> = { clients: '{}', signing: '{"keys":[]}' };
    const name = (arn: string) => arn.split(':').pop()!;
    sm.on(GetSecretValueCommand).callsFake((input: { SecretId: string }) => ({ SecretString: stored[name(input.SecretId)] }));
    sm.on(PutSecretValueCommand).callsFake((input: { SecretId: string; SecretString: string }) => {
      stored[name(input.SecretId)] = input.SecretString;
      return {};
    });
    try {
      const seed = parseSeed(JSON.stringify(testSeed()));
      const first = await seedStack(seed, 'TokenBroker', undefined, { now: 1_900_000_000 });
      expect(first).toMatchObject({ secretsRotated: true, signingKey: 'created', customers: 1 });
      expect(JSON.parse(stored.signing!).keys).toHaveLength(1);
      expect(JSON.parse(stored.clients!)).toEqual({
        'orders-svc': { current: TEST_SECRETS.orders },
        'reports-svc': { current: TEST_SECRETS.reports },
        'globex-svc': { current: TEST_SECRETS.globex },
      });
      expect(await new DynamoDbStore(dynamo.client, dynamo.tableName).getServiceClient('globex-svc')).toMatchObject({ tenant: 'globex' });

      const second = await seedStack(seed, 'TokenBroker', undefined, { now: 1_900_000_000 });
      expect(second).toMatchObject({ secretsRotated: false, signingKey: 'kept' });
      // One write for the client secrets and one for the new signing key; none the second time.
      expect(sm.commandCalls(PutSecretValueCommand)).toHaveLength(2);

      // A changed secret: the one version holds the old secret as previous, with its end.
      const rotated = parseSeed(JSON.stringify(testSeed({ ordersSecret: 'orders-secret-0002' })));
      const third = await seedStack(rotated, 'TokenBroker', undefined, { now: 1_900_000_100 });
      expect(third.rotatedSecrets).toEqual([{ clientId: 'orders-svc', previousUntil: 1_900_000_100 + 86400 }]);
      expect(JSON.parse(stored.clients!)['orders-svc']).toEqual({
        current: 'orders-secret-0002',
        previous: TEST_SECRETS.orders,
        previousUntil: 1_900_000_100 + 86400,
      });
      // Applied again later, it changes nothing: the overlap is not extended.
      await seedStack(rotated, 'TokenBroker', undefined, { now: 1_900_050_000 });
      expect(sm.commandCalls(PutSecretValueCommand)).toHaveLength(3);
      expect(JSON.parse(stored.clients!)['orders-svc'].previousUntil).toBe(1_900_000_100 + 86400);

      // Incident response on the stack: the previous secret is dropped from a new version.
      const lines: string[] = [];
      const code = await main(['--revoke-previous-secret', 'orders-svc', '--stack', 'TokenBroker'], {
        clock: () => 1_900_000_200,
        log: jsonLogger((line) => lines.push(line)),
      });
      expect(code).toBe(0);
      expect(JSON.parse(stored.clients!)['orders-svc']).toEqual({ current: 'orders-secret-0002' });
      expect(JSON.parse(stored.clients!)['reports-svc']).toEqual({ current: TEST_SECRETS.reports });
      expect(lines.map((line) => JSON.parse(line))).toMatchObject([
        { message: 'audit', event: 'secret_rotated', tenant: 'acme', clientId: 'orders-svc', change: 'previous_revoked' },
      ]);
      expect(
        await main(['--revoke-client-tokens', 'orders-svc', '--stack', 'TokenBroker'], {
          clock: () => 1_900_000_300,
          log: jsonLogger(() => {}),
        }),
      ).toBe(0);
      expect(await new DynamoDbStore(dynamo.client, dynamo.tableName).getServiceClient('orders-svc')).toMatchObject({
        tokensRevokedAt: 1_900_000_300,
      });
    } finally {
      await dynamo.close();
    }
  });

  it('refuses a stack without the broker’s outputs', async () => {
    cfn
      .on(DescribeStacksCommand, { StackName: 'Other' })
      .resolves({ Stacks: [{ StackName: 'Other', CreationTime: new Date(), StackStatus: 'CREATE_COMPLETE', Outputs: [] }] });
    await expect(seedStack(parseSeed(JSON.stringify(testSeed())), 'Other', undefined, { now: 1 })).rejects.toThrow(
      /lacks the TableName, ClientSecretsArn and SigningKeysSecretArn outputs/,
    );
  });
});
