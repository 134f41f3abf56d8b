import { MAX_LENGTH } from './domain/identifiers.js';
import { DISCOVERY_KEYS_CACHE_SECONDS, SIGNING_KEYS_CACHE_SECONDS } from './domain/signing-keys.js';

/**
 * Configuration of a Lambda function, read once at cold start and validated: a missing or
 * malformed variable fails the cold start loudly instead of the first request quietly.
 */

/** How long a loaded value is held in memory before it is read again, in seconds. */
export interface HoldSeconds {
  /** The client secrets: a revoked previous secret is refused within this long. */
  clientSecrets: number;
  cacheKey: number;
  /** The private signing keys (domain/signing-keys.ts times rotations against it). */
  signingKeys: number;
  /**
   * The identity providers' client secrets (issue 11); the client secrets' time when absent. A
   * changed provider secret is used within this long.
   */
  identityProviderSecrets?: number;
  /** Tenants and service clients (adapters/cached-directory.ts): a seed reaches a warm function within this long. */
  directory: number;
  /** Discovery's copy of the published public keys; undefined: read on every request. */
  publishedKeys?: number;
  /** After a failed reload, how long the last good value keeps serving before the next try. */
  retryAfterFailure: number;
}

/**
 * Every default of the broker, in one place: the Lambda configuration reader (below) and local
 * mode (local/broker.ts) take theirs from here, and functions/wiring.ts the hold times.
 */
export const DEFAULTS = {
  /** Share of a service token's life after which the cache mints a new one (0 < share ≤ 1). */
  serviceTokenReuseShare: 0.5,
  /**
   * How long a warm instance serves a cached service token from memory before it reads the cache
   * item again (adapters/near-cache.ts). 5 s: at a steady 100 requests a second per client, one
   * read in 500 still reaches the table, which keeps a popular client's cache item far from the
   * per-partition limit; and a token revoked on another instance goes on being handed out for at
   * most 5 s, a tenth of the 60 s a seed or a revoked previous secret already takes to reach a
   * warm function (the directory and secrets holds below), while introspection refuses it at once.
   */
  serviceTokenNearCacheSeconds: 5,
  /** How often the warm-up runs (the EventBridge schedule; local mode's timer). */
  warmupIntervalSeconds: 300,
  /**
   * On AWS: the client secrets are reread every 60 s, so revoking a previous secret takes effect
   * within the same 60 s as the directory cache (operating.md "Incident response"): one
   * GetSecretValue a minute per warm instance.
   */
  awsHold: {
    clientSecrets: 60,
    identityProviderSecrets: 60,
    cacheKey: 3600,
    signingKeys: SIGNING_KEYS_CACHE_SECONDS,
    directory: 60,
    publishedKeys: DISCOVERY_KEYS_CACHE_SECONDS,
    retryAfterFailure: 30,
  } satisfies HoldSeconds,
  /** Local mode (`npm start`, and the seed CLI's --local): where it listens and keeps its data. */
  local: { port: 3000, host: '127.0.0.1', dataDir: '.data' },
  /** Local mode: the secrets file is reread every 5 s; discovery reads the store on every request. */
  localHold: {
    clientSecrets: 5,
    identityProviderSecrets: 5,
    cacheKey: 3600,
    signingKeys: SIGNING_KEYS_CACHE_SECONDS,
    directory: 60,
    retryAfterFailure: 30,
  } satisfies HoldSeconds,
} as const;

export interface FunctionConfig {
  tableName: string;
  clientSecretsId: string;
  keysSecretId: string;
  /** The private ES256 signing keys for the customer saas_token. */
  signingKeysSecretId: string;
  /** The identity providers' client secrets (issue 11): only the function that calls providers. */
  identityProviderSecretsId: string;
  /** Share of a service token's life after which the cache mints anew. */
  serviceTokenReuseShare: number;
  /** How long a warm instance serves a cached service token from memory (0: always read the table). */
  serviceTokenNearCacheSeconds: number;
  /** How often the warm-up runs; it renews tokens that would go stale before the next run. */
  warmupIntervalSeconds: number;
  /**
   * The issuer: `iss` of every JWT and the base of every URL in the metadata. Configuration only,
   * never the request's Host or X-Forwarded-* headers (contract, conventions): discovery is
   * publicly cacheable, so a Host-derived issuer would let one forged request poison it.
   */
  issuer: string;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

export function readConfig<K extends keyof FunctionConfig>(env: Env, needed: readonly K[]): Pick<FunctionConfig, K> {
  const all: Partial<Record<keyof FunctionConfig, () => unknown>> = {
    tableName: () => required(env, 'TABLE_NAME'),
    clientSecretsId: () => required(env, 'CLIENT_SECRETS_ID'),
    keysSecretId: () => required(env, 'KEYS_SECRET_ID'),
    signingKeysSecretId: () => required(env, 'SIGNING_KEYS_SECRET_ID'),
    identityProviderSecretsId: () => required(env, 'IDENTITY_PROVIDER_SECRETS_ID'),
    serviceTokenReuseShare: () => share(env, 'SERVICE_TOKEN_REUSE_SHARE', DEFAULTS.serviceTokenReuseShare),
    serviceTokenNearCacheSeconds: () => nonNegativeSeconds(env, 'SERVICE_TOKEN_NEAR_CACHE_SECONDS', DEFAULTS.serviceTokenNearCacheSeconds),
    warmupIntervalSeconds: () => positiveInteger(env, 'WARMUP_INTERVAL_SECONDS', DEFAULTS.warmupIntervalSeconds),
    issuer: () => issuerUrl(required(env, 'ISSUER')),
  };
  const config: Partial<FunctionConfig> = {};
  for (const key of needed) (config as Record<string, unknown>)[key] = all[key]!();
  return config as Pick<FunctionConfig, K>;
}

function required(env: Env, name: string): string {
  const value = env[name];
  if (!value) throw new ConfigError(`environment variable ${name} is required`);
  return value;
}

/**
 * An issuer URL as RFC 8414 clients compare it, by string equality: absolute http(s), no
 * trailing slash, query, fragment or credentials, and written canonically (lower-case host, no
 * default port), so the one configured is the one every token and document carries; and at most
 * MAX_LENGTH.issuer characters.
 */
export function issuerUrl(raw: string, name = 'ISSUER'): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${name} must be an absolute http(s) URL, got "${raw}"`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConfigError(`${name} must be an http(s) URL, got "${raw}"`);
  if (url.username || url.password || url.search || url.hash || raw.includes('?') || raw.includes('#')) {
    throw new ConfigError(`${name} must not have credentials, a query or a fragment, got "${raw}"`);
  }
  if (raw.endsWith('/')) throw new ConfigError(`${name} must not end with a slash, got "${raw}"`);
  // It is in every JWT access token, whose length is bounded (domain/identifiers.ts).
  if (raw.length > MAX_LENGTH.issuer) throw new ConfigError(`${name} must be at most ${MAX_LENGTH.issuer} characters`);
  const canonical = url.pathname === '/' ? url.href.slice(0, -1) : url.href;
  if (raw !== canonical) throw new ConfigError(`${name} must be written as "${canonical}", got "${raw}"`);
  return raw;
}

export function share(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!(value > 0 && value <= 1)) throw new ConfigError(`${name} must be a number in (0, 1], got "${raw}"`);
  return value;
}

export function positiveInteger(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new ConfigError(`${name} must be a positive integer, got "${raw}"`);
  return value;
}

/** A number of seconds, 0 included, at most an hour (more would be a mistake, not a setting). */
export function nonNegativeSeconds(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = /^\d+(\.\d+)?$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(value >= 0 && value <= 3600)) throw new ConfigError(`${name} must be a number of seconds from 0 to 3600, got "${raw}"`);
  return value;
}
