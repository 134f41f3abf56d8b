import type { AddressInfo } from 'node:net';
import { mkdirSync } from 'node:fs';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { MemoryStore } from '../adapters/memory-store.js';
import type { MillisecondClock } from '../adapters/near-cache.js';
import { authorizeRoutes } from '../routes/authorize.js';
import { discoveryRoutes } from '../routes/discovery.js';
import { federationRoutes } from '../routes/federation.js';
import { signupRoutes } from '../routes/signup.js';
import { oauthRoutes } from '../routes/oauth.js';
import { storefrontRoutes } from '../routes/storefront.js';
import type { ScryptParams } from '../domain/passwords.js';
import { DEFAULTS, issuerUrl } from '../config.js';
import { lambdaHttpHandler, type LambdaHttpHandler } from '../http/lambda-adapter.js';
import type { FunctionName } from '../http/route-table.js';
import { jsonLogger, type Logger } from '../log.js';
import { systemClock, type Clock } from '../ports.js';
import { applySeed, type SeedReport } from '../seed/apply.js';
import { parseSeed, type Seed } from '../seed/schema.js';
import type { Deps } from '../use-cases/deps.js';
import { warmUp } from '../use-cases/service-tokens.js';
import { buildDeps, seedTarget, type KeySources } from '../wiring.js';
import { type EmbeddedDynamoDb, type StoreError, startEmbeddedDynamoDb } from './embedded-dynamodb.js';
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
  /** Where dynalite runs, outside the broker's event loop: its own process (default) or a worker thread. */
  storeRunsIn?: 'process' | 'thread';
  /**
   * Called once if dynalite's process stops while the broker runs (crashed, killed): every
   * request that needs the store answers 503 from then on. It is logged (`store lost`); `npm start`
   * also stops the broker with a message (bin/local.ts).
   */
  onStoreLost?: (error: StoreError) => void;
  /** scrypt cost of the seed's password hashes (and the decoy); production's by default. Tests lower it. */
  scrypt?: ScryptParams;
  log?: Logger;
  clock?: Clock;
  /**
   * How long the service-token cache's in-process copy is served (adapters/near-cache.ts);
   * DEFAULTS.serviceTokenNearCacheSeconds by default, 0 to read the cache item every time.
   */
  nearCacheSeconds?: number;
  /** The near cache's millisecond clock; `Date.now` by default. */
  clockMs?: MillisecondClock;
}

export interface LocalBroker {
  url: string;
  /** The configured issuer (by default equal to `url`). */
  issuer: string;
  seed: Seed;
  seedReport: SeedReport;
  /** What every route table and the warm-up of this broker use (functions/wiring.ts). */
  deps: Deps;
  /** The same `deps`, under the name older tests and benchmarks read the storefront's stores by. */
  storefront: Deps;
  /** Where mail goes: `DATA_DIR/outbox`, one RFC 5322 `.eml` file per message (operating.md). */
  outbox: string;
  /** The DynamoDB client on dynalite, for tests and benchmarks that count or fault its calls. */
  dynamoClient: DynamoDBClient | undefined;
  /** dynalite (its process id and CPU time), for tests and benchmarks; undefined on the memory store. */
  embeddedStore: EmbeddedDynamoDb | undefined;
  /** Applies another seed to this broker's store and secrets, as the seed CLI would. */
  reseed(seed: Seed, options?: { rotateSigningKey?: boolean }): Promise<SeedReport>;
  close(): Promise<void>;
}

/**
 * Local mode (shared/spec/operating.md): each function's route handlers in the Lambda adapter,
 * behind a local HTTP server, on dynalite and a local secrets file, with the seed applied and the
 * warm-up on a timer.
 */
export async function startLocalBroker(options: LocalBrokerOptions): Promise<LocalBroker> {
  // Validate before anything is started or written: a bad seed stops the start.
  const seed = parseSeed(readFileSync(options.seedFile, 'utf8'), options.seedFile);
  const configuredIssuer = options.issuer === undefined ? undefined : issuerUrl(options.issuer);
  const log = options.log ?? jsonLogger();
  const clock = options.clock ?? systemClock;
  const warmupIntervalSeconds = options.warmupIntervalSeconds ?? DEFAULTS.warmupIntervalSeconds;

  // Only the owner may read the store and the secrets file (0700; mkdir honours the umask too).
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  const dynamo =
    options.store === 'memory'
      ? undefined
      : await startEmbeddedDynamoDb(join(options.dataDir, 'dynamodb'), { runIn: options.storeRunsIn ?? 'process' });
  dynamo?.onLost((error) => {
    log.error('store lost', { error: error.message });
    options.onStoreLost?.(error);
  });
  const secretsFile = new LocalSecretsFile(join(options.dataDir, 'secrets.json'));
  secretsFile.ensure();
  const outbox = join(options.dataDir, 'outbox');
  const deps: Deps = buildDeps(
    {
      table: dynamo ? { client: dynamo.client, tableName: dynamo.tableName } : { memory: new MemoryStore() },
      keys: localSecretsSources(secretsFile),
      mail: { outbox },
    },
    {
      clock,
      log,
      serviceTokenReuseShare: options.serviceTokenReuseShare ?? DEFAULTS.serviceTokenReuseShare,
      nearCache: { staleSeconds: options.nearCacheSeconds ?? DEFAULTS.serviceTokenNearCacheSeconds, nowMs: options.clockMs },
      hold: DEFAULTS.localHold,
      passwordHashing: options.scrypt,
    },
    // The default issuer names the port, known only once bound: set below, before any handler exists.
    configuredIssuer ?? '',
  );
  const target = seedTarget(deps, { clientSecrets: secretsFile, signingKeys: secretsFile, providerSecrets: secretsFile });
  const seedReport = await applySeed(seed, target, { now: clock(), log, scrypt: options.scrypt });

  /**
   * What "can serve" means for /health: what every token request needs can be loaded (the cache
   * key, the client secrets, the signing key; each is cached, so a healthy broker reads nothing)
   * and the store answers one GetItem.
   */
  const health: Health = async () => {
    const checks: [string, () => Promise<unknown>][] = [
      ['cache key', () => deps.keys.cacheKey()],
      ['client secrets', () => deps.secrets.preload()],
      ['signing key', () => deps.signingKeys.current()],
      ['store', () => deps.publicKeys.getPublishedKeys()],
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
  deps.issuer = issuer;
  functions.oauth = lambdaHttpHandler(oauthRoutes(deps), log);
  functions.discovery = lambdaHttpHandler(discoveryRoutes({ issuer, publicKeys: deps.liveKeys }), log);
  functions.storefront = lambdaHttpHandler(storefrontRoutes(deps, { issuer }), log);
  functions.authorize = lambdaHttpHandler(authorizeRoutes(deps, { issuer }), log);
  functions.federation = lambdaHttpHandler(federationRoutes(deps, { issuer }), log);
  functions.signup = lambdaHttpHandler(signupRoutes(deps, { issuer }), log);

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
    storefront: deps,
    outbox,
    dynamoClient: dynamo?.client,
    embeddedStore: dynamo,
    reseed: (next, reseedOptions = {}) => applySeed(next, target, { now: clock(), log, scrypt: options.scrypt, ...reseedOptions }),
    close: async () => {
      clearInterval(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await dynamo?.close();
    },
  };
}

/** Local mode's key material: the secrets file under DATA_DIR, in place of Secrets Manager. */
export function localSecretsSources(file: LocalSecretsFile): Required<KeySources> {
  return {
    name: 'local secrets file',
    clientSecrets: file.readClientSecrets,
    cacheKey: file.readCacheKey,
    signingKeys: file.readSigningKeys,
    identityProviderSecrets: file.readProviderSecrets,
  };
}
