import type { AddressInfo } from 'node:net';
import { mkdirSync } from 'node:fs';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { CachedDirectory } from '../adapters/cached-directory.js';
import { VersionedClientSecrets } from '../adapters/client-secrets.js';
import { DynamoDbSessions, DynamoDbStore } from '../adapters/dynamodb/stores.js';
import { MemoryStore } from '../adapters/memory-store.js';
import { memoisedUnseal } from '../adapters/memoised-unseal.js';
import { RefreshingValue } from '../adapters/refreshing-value.js';
import { discoveryRoutes } from '../handlers/discovery.js';
import { oauthRoutes } from '../handlers/oauth.js';
import { storefrontRoutes } from '../handlers/storefront.js';
import type { ScryptParams } from '../domain/passwords.js';
import { unseal } from '../domain/seal.js';
import { liveKeys, SIGNING_KEYS_CACHE_SECONDS, signingKeyAt } from '../domain/signing-keys.js';
import { issuerUrl } from '../config.js';
import { lambdaHttpHandler, type LambdaHttpHandler } from '../http/lambda.js';
import type { FunctionName } from '../http/routes.js';
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
import { createHttpBridge, type Health } from './http-bridge.js';
import { LocalSecretsFile } from './secrets-file.js';

export interface LocalBrokerOptions {
  port: number;
  host: string;
  /** Where dynalite and the secrets file live; they survive restarts. */
  dataDir: string;
  seedFile: string;
  /** The issuer in metadata and saas_tokens; by default `http://HOST:PORT` with the bound port. */
  issuer?: string;
  warmupIntervalSeconds?: number;
  serviceTokenReuseShare?: number;
  /**
   * `dynalite` (the default): the embedded DynamoDB-compatible store, persisted under dataDir.
   * `memory`: the same ports in process memory, lost on exit; for benchmarks.
   */
  store?: 'dynalite' | 'memory';
  /** scrypt cost of the seed's password hashes (and the decoy); production's by default. Tests lower it. */
  scrypt?: ScryptParams;
  log?: Logger;
  clock?: Clock;
}

export interface LocalBroker {
  url: string;
  /** The configured issuer (by default equal to `url`). */
  issuer: string;
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
  const configuredIssuer = options.issuer === undefined ? undefined : issuerUrl(options.issuer);
  const log = options.log ?? jsonLogger();
  const clock = options.clock ?? systemClock;
  const warmupIntervalSeconds = options.warmupIntervalSeconds ?? 300;

  // Only the owner may read the store and the secrets file (0700; mkdir honours the umask too).
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  const dynamo = options.store === 'memory' ? undefined : await startEmbeddedDynamoDb(join(options.dataDir, 'dynamodb'));
  const secretsFile = new LocalSecretsFile(join(options.dataDir, 'secrets.json'));
  secretsFile.ensure();
  const memory = dynamo ? undefined : new MemoryStore();
  const store: DirectoryStore & TokenStore = memory ?? new DynamoDbStore(dynamo!.client, dynamo!.tableName);
  const sessions: SessionStore & CustomerStore & PublicKeyStore = memory ?? new DynamoDbSessions(dynamo!.client, dynamo!.tableName);
  const directory = new CachedDirectory(store, clock);
  const seedTarget = { directory, customers: sessions, sessions, publicKeys: sessions, clientSecrets: secretsFile, signingKeys: secretsFile };
  const seedReport = await applySeed(seed, seedTarget, { now: clock(), log, scrypt: options.scrypt });

  const cacheKey = new RefreshingValue('local secrets file', secretsFile.readCacheKey, clock, 3600);
  const clientSecrets = new RefreshingValue('local secrets file', secretsFile.readClientSecrets, clock, 5);
  const deps: BrokerDeps = {
    directory,
    tokens: store,
    sessions,
    secrets: new VersionedClientSecrets(clientSecrets, clock),
    keys: { cacheKey: () => cacheKey.get() },
    unseal: memoisedUnseal(unseal),
    clock,
    log,
    serviceTokenReuseShare: options.serviceTokenReuseShare ?? 0.5,
  };
  const signingKeys = new RefreshingValue('local secrets file', secretsFile.readSigningKeys, clock, SIGNING_KEYS_CACHE_SECONDS);
  const storefront: StorefrontDeps = {
    directory,
    sessions,
    customers: sessions,
    signingKeys: { current: async () => signingKeyAt(await signingKeys.get(), clock()) },
    passwordHashing: options.scrypt,
    clock,
    log,
  };

  /**
   * What "can serve" means for /health: what every token request needs can be loaded (the cache
   * key, the client secrets, the signing key; each is cached, so a healthy broker reads nothing)
   * and the store answers one GetItem.
   */
  const health: Health = async () => {
    const checks: [string, () => Promise<unknown>][] = [
      ['cache key', () => cacheKey.get()],
      ['client secrets', () => clientSecrets.get()],
      ['signing key', () => storefront.signingKeys.current()],
      ['store', () => sessions.getPublishedKeys()],
    ];
    const results = await Promise.allSettled(checks.map(([, check]) => check()));
    return checks.filter((_, i) => results[i]!.status === 'rejected').map(([name]) => name);
  };

  // The handlers need the issuer, which by default names the port, known only once bound. No
  // request is read before they are in place (the bridge answers 503 until then).
  const functions: Partial<Record<FunctionName, LambdaHttpHandler>> = {};
  const server = createHttpBridge(functions, lambdaHttpHandler({}, log), log, health);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  const issuer = configuredIssuer ?? `http://${host}:${port}`;
  functions.oauth = lambdaHttpHandler(oauthRoutes(deps), log);
  functions.discovery = lambdaHttpHandler(
    discoveryRoutes({ issuer, publicKeys: async () => liveKeys(await sessions.getPublishedKeys(), clock()) }),
    log,
  );
  functions.storefront = lambdaHttpHandler(storefrontRoutes(storefront, { issuer }), log);

  const runWarmUp = () =>
    warmUp(deps, warmupIntervalSeconds)
      .then((report) => log.info('warm-up done', { ...report }))
      .catch((error: unknown) => log.warn('warm-up failed', { error }));
  await runWarmUp();
  const timer = setInterval(runWarmUp, warmupIntervalSeconds * 1000);
  timer.unref();

  return {
    url: `http://${host}:${port}`,
    issuer,
    seed,
    seedReport,
    deps,
    storefront,
    dynamoClient: dynamo?.client,
    reseed: (next, reseedOptions = {}) => applySeed(next, seedTarget, { now: clock(), log, scrypt: options.scrypt, ...reseedOptions }),
    close: async () => {
      clearInterval(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await dynamo?.close();
    },
  };
}
