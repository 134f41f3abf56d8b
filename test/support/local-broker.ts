import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { startLocalBroker, type LocalBroker, type LocalBrokerOptions } from '../../functions/local/broker.js';
import type { ScryptParams } from '../../functions/domain/passwords.js';
import { jsonLogger } from '../../functions/log.js';
import { testSeed } from './seed.js';

/**
 * scrypt's lowest usable cost, for tests that are not about hashing: a login verifies in about
 * a millisecond instead of a third of a second. Production's parameters are held by
 * test/unit/passwords.test.ts.
 */
export const TEST_SCRYPT: ScryptParams = { N: 2 ** 10, r: 8, p: 1 };

/** A clock the test moves by hand. */
export class TestClock {
  constructor(public now = 1_900_000_000) {}
  readonly read = () => this.now;
  advance(seconds: number): void {
    this.now += seconds;
  }
}

export interface TestBroker extends LocalBroker {
  /** Test brokers always run on dynalite, so tests can count and fault its calls. */
  dynamoClient: DynamoDBClient;
  clock: TestClock;
  logLines: string[];
  dataDir: string;
  seedFile: string;
  stop(): Promise<void>;
}

/**
 * Local mode exactly as `npm start` runs it, on a random port and a fresh DATA_DIR, with a clock
 * the test controls and every log line captured (for the no-secrets-in-logs checks).
 */
export async function startTestBroker(
  seed: object = testSeed(),
  options: Pick<LocalBrokerOptions, 'issuer' | 'scrypt' | 'nearCacheSeconds'> = {},
): Promise<TestBroker> {
  const dataDir = mkdtempSync(join(tmpdir(), 'token-broker-test-'));
  const seedFile = join(dataDir, 'seed.json');
  writeFileSync(seedFile, JSON.stringify(seed));
  const clock = new TestClock();
  const logLines: string[] = [];
  const broker = await startLocalBroker({
    port: 0,
    host: '127.0.0.1',
    dataDir,
    seedFile,
    clock: clock.read,
    // The near cache's bound is timed on the same hand-moved clock: a test that changes the
    // table behind the broker's back advances it past DEFAULTS.serviceTokenNearCacheSeconds.
    clockMs: () => clock.now * 1000,
    log: jsonLogger((line) => logLines.push(line)),
    scrypt: TEST_SCRYPT,
    ...options,
  });
  if (!broker.dynamoClient) throw new Error('test brokers run on dynalite');
  return {
    ...broker,
    dynamoClient: broker.dynamoClient,
    clock,
    logLines,
    dataDir,
    seedFile,
    stop: async () => {
      await broker.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A raw form POST, for the error paths a well-behaved client never takes. */
export function postForm(url: string, form: Record<string, string> | string, headers: Record<string, string> = {}) {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: typeof form === 'string' ? form : new URLSearchParams(form).toString(),
  });
}

export function basic(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}
