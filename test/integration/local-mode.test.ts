import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { optInMail } from '../../functions/domain/mail.js';
import { startLocalBroker } from '../../functions/local/broker.js';
import { jsonLogger } from '../../functions/log.js';
import { linkFromMail } from '../support/eml.js';
import { startTestBroker, type TestBroker } from '../support/local-broker.js';
import { testSeed } from '../support/seed.js';
import { Storefront } from '../support/storefront.js';

/** Issue 8 item 12: local mode is honest about its state (operating.md, local mode). */

const root = fileURLToPath(new URL('../../', import.meta.url));

/** `npm start` as a child process; resolves with its exit code and stderr once it exits. */
function runLocal(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(join(root, 'node_modules/.bin/tsx'), ['bin/local.ts'], {
      cwd: root,
      env: { ...process.env, PORT: '0', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
      // A start that succeeded is not what these tests expect: stop it and report.
      if (stderr.includes('listening on')) child.kill('SIGTERM');
    });
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stderr }));
  });
}

function expectNoStackTrace(stderr: string) {
  expect(stderr).not.toMatch(/^\s+at /m);
  expect(stderr).not.toMatch(/node:internal|\.js:\d+/);
}

describe('/health', () => {
  let broker: TestBroker;
  beforeAll(async () => {
    broker = await startTestBroker();
  });
  afterAll(() => broker.stop());

  it('answers 200 while the broker can serve', async () => {
    const response = await fetch(`${broker.url}/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it('answers 503 when the store does not answer', async () => {
    const down = () => async () => {
      throw new Error('connect ECONNREFUSED');
    };
    broker.dynamoClient.middlewareStack.add(down, { step: 'initialize', name: 'storeDown' });
    try {
      const response = await fetch(`${broker.url}/health`);
      expect(response.status).toBe(503);
      expect(await response.json()).toEqual({ status: 'unavailable', failing: ['store'] });
    } finally {
      broker.dynamoClient.middlewareStack.remove('storeDown');
    }
    expect((await fetch(`${broker.url}/health`)).status).toBe(200);
  });
});

describe('/health when the keys cannot be loaded', () => {
  let broker: TestBroker;
  let good: Buffer;
  beforeAll(async () => {
    broker = await startTestBroker();
    // Before anything has loaded the signing key (only login and /health do).
    const secretsFile = join(broker.dataDir, 'secrets.json');
    good = readFileSync(secretsFile);
    writeFileSync(secretsFile, JSON.stringify({ ...JSON.parse(good.toString('utf8')), signingKeys: [] }));
  });
  afterAll(() => broker.stop());

  it('answers 503, naming what fails, as a token request that needs it does; 200 once it loads', async () => {
    const health = await fetch(`${broker.url}/health`);
    expect(health.status).toBe(503);
    expect(health.headers.get('retry-after')).toBe('1');
    expect(await health.json()).toEqual({ status: 'unavailable', failing: ['signing key'] });
    const storefront = new Storefront(broker.url);
    const anonymous = (await storefront.anonymousLogin()).body;
    expect((await storefront.login(anonymous.access_token, 'ann@example.com', 'correct-horse')).status).toBe(503);

    writeFileSync(join(broker.dataDir, 'secrets.json'), good);
    expect((await fetch(`${broker.url}/health`)).status).toBe(200);
  });
});

describe('an over-long header section', () => {
  let broker: TestBroker;
  beforeAll(async () => {
    broker = await startTestBroker();
  });
  afterAll(() => broker.stop());

  it('gets a JSON 431', async () => {
    const answer = await new Promise<{ status: number; type: string | undefined; body: string }>((resolve, reject) => {
      const req = httpRequest(`${broker.url}/oauth/token`, { method: 'POST', headers: { 'x-padding': 'p'.repeat(20_000) } }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
        res.on('end', () => resolve({ status: res.statusCode!, type: res.headers['content-type'], body }));
      });
      req.on('error', reject);
      req.end();
    });
    expect(answer.status).toBe(431);
    expect(answer.type).toBe('application/json');
    expect(JSON.parse(answer.body)).toEqual({
      status: 431,
      type: 'request_header_fields_too_large',
      message: 'The request header fields are too large.',
      details: [],
    });
    // The server is still there for the next request.
    expect((await fetch(`${broker.url}/health`)).status).toBe(200);
  });
});

describe('DATA_DIR', () => {
  const parent = mkdtempSync(join(tmpdir(), 'token-broker-datadir-'));
  afterAll(() => rmSync(parent, { recursive: true, force: true }));

  it('is created 0700, and so is the store inside it', async () => {
    const dataDir = join(parent, 'fresh', 'data');
    const seedFile = join(parent, 'seed.json');
    writeFileSync(seedFile, JSON.stringify(testSeed()));
    const broker = await startLocalBroker({ port: 0, host: '127.0.0.1', dataDir, seedFile, log: jsonLogger(() => {}) });
    try {
      expect(statSync(dataDir).mode & 0o777).toBe(0o700);
      expect(statSync(join(dataDir, 'dynamodb')).mode & 0o777).toBe(0o700);
    } finally {
      await broker.close();
    }
  });

  it('holds the outbox: the broker’s mailer writes one .eml there and logs only its file name', async () => {
    const dataDir = join(parent, 'mail', 'data');
    const seedFile = join(parent, 'seed-mail.json');
    writeFileSync(seedFile, JSON.stringify(testSeed()));
    const lines: string[] = [];
    const broker = await startLocalBroker({ port: 0, host: '127.0.0.1', dataDir, seedFile, log: jsonLogger((l) => lines.push(l)) });
    try {
      expect(broker.outbox).toBe(join(dataDir, 'outbox'));
      const token = 'T'.repeat(64);
      await broker.deps.mailer.send(
        optInMail({ from: 'no-reply@acme.example', optInLink: 'https://shop.example/c/{token}' }, 'ann@example.com', token, 'acme'),
      );
      const files = readdirSync(broker.outbox);
      expect(files).toHaveLength(1);
      expect(statSync(broker.outbox).mode & 0o777).toBe(0o700);
      const raw = readFileSync(join(broker.outbox, files[0] as string), 'utf8');
      expect(linkFromMail(raw, 'https://shop.example/')).toBe(`https://shop.example/c/${token}`);
      const written = lines.filter((l) => l.includes('mail written'));
      expect(written).toHaveLength(1);
      expect(written[0]).toContain(files[0]);
      expect(lines.join('\n')).not.toContain(token);
    } finally {
      await broker.close();
    }
  });

  it('is where the start banner says mail goes', async () => {
    const dataDir = join(parent, 'banner', 'data');
    const { stderr } = await runLocal({ DATA_DIR: dataDir, SEED_FILE: '' });
    expect(stderr).toContain(`Mail (signup confirmation links) is written to ${join(dataDir, 'outbox')}/`);
  });

  it('in use by another process stops the start with the “in use” message, not a stack trace', async () => {
    const holder = await startTestBroker();
    try {
      const { code, stderr } = await runLocal({ DATA_DIR: holder.dataDir });
      expect(code).toBe(1);
      expect(stderr.trim()).toBe(
        'token-broker did not start: DATA_DIR is in use by another token-broker process (only one process can open it)',
      );
      expectNoStackTrace(stderr);
    } finally {
      await holder.stop();
    }
  }, 30_000);

  it('whose store cannot be read stops the start with a clear message', async () => {
    const dataDir = join(parent, 'corrupt');
    mkdirSync(join(dataDir, 'dynamodb'), { recursive: true });
    writeFileSync(join(dataDir, 'dynamodb', 'CURRENT'), 'MANIFEST-999999\n');
    const { code, stderr } = await runLocal({ DATA_DIR: dataDir });
    expect(code).toBe(1);
    expect(stderr).toMatch(/^token-broker did not start: the store in .*dynamodb cannot be read \(.+\); move it away to start afresh\n$/);
    expectNoStackTrace(stderr);
  }, 30_000);

  it('whose store holds data but no broker table is not silently started empty', async () => {
    const dataDir = join(parent, 'foreign');
    mkdirSync(join(dataDir, 'dynamodb'), { recursive: true });
    writeFileSync(join(dataDir, 'dynamodb', 'something-else'), 'not a broker store');
    const { code, stderr } = await runLocal({ DATA_DIR: dataDir });
    expect(code).toBe(1);
    expect(stderr).toContain('the store in DATA_DIR holds data but no token-broker table');
    expectNoStackTrace(stderr);
  }, 30_000);
});
