import type { AddressInfo } from 'node:net';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { CachedDirectory } from '../adapters/cached-directory.js';
import { VersionedClientSecrets } from '../adapters/client-secrets.js';
import { DynamoDbSessions } from '../adapters/dynamodb-sessions.js';
import { DynamoDbStore } from '../adapters/dynamodb-store.js';
import { MemoryStore } from '../adapters/memory-store.js';
import { RefreshingValue } from '../adapters/refreshing-value.js';
import { discoveryRoutes } from '../handlers/discovery.js';
import { oauthRoutes } from '../handlers/oauth.js';
import { storefrontRoutes } from '../handlers/storefront.js';
import { liveKeys } from '../domain/signing-keys.js';
import { lambdaHttpHandler } from '../http/lambda.js';
import { jsonLogger, type Logger } from '../log.js';
import {
  systemClock,
  type Clock,
  type CustomerStore,
  type DirectoryStore,
  type PublicKeyStore,
  type SessionStore,
  type TokenStore,
} from '../ports.js';
import { applySeed, type SeedReport } from '../seed/apply.js';
import { parseSeed, type Seed } from '../seed/schema.js';
import type { BrokerDeps, StorefrontDeps } from '../use-cases/deps.js';
import { warmUp } from '../use-cases/service-tokens.js';
import { startEmbeddedDynamoDb } from './embedded-dynamodb.js';
import { createHttpBridge } from './http-bridge.js';
import { LocalSecretsFile } from './secrets-file.js';

export interface LocalBrokerOptions {
  port: number;
  host: string;
  /** Where dynalite and the secrets file live; they survive restarts. */
  dataDir: string;
  seedFile: string;
  warmupIntervalSeconds?: number;
  serviceTokenReuseShare?: number;
  /**
   * `dynalite` (the default): the embedded DynamoDB-compatible store, persisted under dataDir.
   * `memory`: the same ports in process memory, lost on exit; for benchmarks.
   */
  store?: 'dynalite' | 'memory';
  log?: Logger;
  clock?: Clock;
}

export interface LocalBroker {
  url: string;
  seed: Seed;
  seedReport: SeedReport;
  deps: BrokerDeps;
  storefront: StorefrontDeps;
  /** The DynamoDB client on dynalite, for tests and benchmarks that count or fault its calls. */
  dynamoClient: DynamoDBClient | undefined;
  /** Applies another seed to this broker's store and secrets, as the seed CLI would. */
  reseed(seed: Seed, options?: { rotateSigningKey?: boolean }): Promise<SeedReport>;
  close(): Promise<void>;
}

/**
 * Local mode (shared/spec/operating.md): the Lambda handlers behind a local HTTP server, on
 * dynalite and a local secrets file, with the seed applied and the warm-up on a timer.
 */
export async function startLocalBroker(options: LocalBrokerOptions): Promise<LocalBroker> {
  // Validate before anything is started or written: a bad seed stops the start.
  const seed = parseSeed(readFileSync(options.seedFile, 'utf8'), options.seedFile);
  const log = options.log ?? jsonLogger();
  const clock = options.clock ?? systemClock;
  const warmupIntervalSeconds = options.warmupIntervalSeconds ?? 300;

  const dynamo = options.store === 'memory' ? undefined : await startEmbeddedDynamoDb(join(options.dataDir, 'dynamodb'));
  const secretsFile = new LocalSecretsFile(join(options.dataDir, 'secrets.json'));
  secretsFile.ensure();
  const memory = dynamo ? undefined : new MemoryStore();
  const store: DirectoryStore & TokenStore = memory ?? new DynamoDbStore(dynamo!.client, dynamo!.tableName);
  const sessions: SessionStore & CustomerStore & PublicKeyStore = memory ?? new DynamoDbSessions(dynamo!.client, dynamo!.tableName);
  const directory = new CachedDirectory(store, clock);
  const seedTarget = {
    directory,
    customers: sessions,
    sessions,
    log,
    publicKeys: sessions,
    clientSecrets: secretsFile,
    signingKeys: secretsFile,
  };
  const seedReport = await applySeed(seed, seedTarget, { now: clock() });

  const cacheKey = new RefreshingValue('local secrets file', secretsFile.readCacheKey, clock, 3600);
  const deps: BrokerDeps = {
    directory,
    tokens: store,
    sessions,
    secrets: new VersionedClientSecrets(new RefreshingValue('local secrets file', secretsFile.readClientSecrets, clock, 5)),
    keys: { cacheKey: () => cacheKey.get() },
    clock,
    log,
    serviceTokenReuseShare: options.serviceTokenReuseShare ?? 0.5,
  };
  const signingKey = new RefreshingValue('local secrets file', secretsFile.readSigningKey, clock, 60);
  const storefront: StorefrontDeps = {
    directory,
    sessions,
    customers: sessions,
    signingKeys: { current: () => signingKey.get() },
    clock,
    log,
  };

  const server = createHttpBridge(
    {
      oauth: lambdaHttpHandler(oauthRoutes(deps), log),
      discovery: lambdaHttpHandler(discoveryRoutes({ publicKeys: async () => liveKeys(await sessions.getPublishedKeys(), clock()) }), log),
      storefront: lambdaHttpHandler(storefrontRoutes(storefront), log),
    },
    lambdaHttpHandler({}, log),
    log,
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;

  const runWarmUp = () =>
    warmUp(deps, warmupIntervalSeconds)
      .then((report) => log.info('warm-up done', { ...report }))
      .catch((error: unknown) => log.warn('warm-up failed', { error }));
  await runWarmUp();
  const timer = setInterval(runWarmUp, warmupIntervalSeconds * 1000);
  timer.unref();

  return {
    url: `http://${host}:${port}`,
    seed,
    seedReport,
    deps,
    storefront,
    dynamoClient: dynamo?.client,
    reseed: (next, reseedOptions = {}) => applySeed(next, seedTarget, { now: clock(), ...reseedOptions }),
    close: async () => {
      clearInterval(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await dynamo?.close();
    },
  };
}
