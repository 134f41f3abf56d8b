import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SESv2Client } from '@aws-sdk/client-sesv2';
import { CachedDirectory } from './adapters/cached-directory.js';
import { type IdentityProviderClientOptions, identityProviderClient } from './adapters/identity-providers.js';
import { VersionedClientSecrets } from './adapters/client-secrets.js';
import { DynamoAuthorizations } from './adapters/dynamodb/authorizations.js';
import { DynamoDbSignups } from './adapters/dynamodb/signups.js';
import { DynamoDbSessions, DynamoDbStore } from './adapters/dynamodb/stores.js';
import { DynamoTable } from './adapters/dynamodb/table.js';
import { outboxMailer } from './adapters/mail/outbox.js';
import { sesMailer } from './adapters/mail/ses.js';
import { memoisedUnseal } from './adapters/memoised-unseal.js';
import { type MillisecondClock, NearCachedTokens } from './adapters/near-cache.js';
import { RefreshingValue } from './adapters/refreshing-value.js';
import type { HoldSeconds } from './config.js';
import { ServiceUnavailable } from './domain/errors.js';
import type { ClientSecretsDocument } from './domain/client-secrets.js';
import type { ScryptParams } from './domain/passwords.js';
import { providerSecretOf, type ProviderSecretsDocument } from './domain/provider-secrets.js';
import { unseal } from './domain/seal.js';
import { liveKeys, signingKeyAt, type PrivateSigningKey } from './domain/signing-keys.js';
import type { Logger } from './log.js';
import { count, countCacheLookup } from './metrics.js';
import type {
  AuthorizationStore,
  Clock,
  CustomerStore,
  DirectoryStore,
  IdentityProviderClient,
  Mailer,
  PublicKeyStore,
  SessionStore,
  SignupStore,
  TokenStore,
} from './ports.js';
import type { ClientSecretsWriter, ProviderSecretsWriter, SeedTarget, SigningKeyWriter } from './seed/apply.js';
import type { AuthorizeDeps, Deps, FederationDeps, OAuthDeps, ServiceTokenDeps, SignupDeps, StorefrontDeps } from './use-cases/deps.js';

/**
 * The one place that assembles the broker: from its sources (the table, the key material) and
 * its settings it builds the adapters, their caches and the `Deps` the use cases pick from. The
 * Lambda entries (entry-points/), local mode (local/broker.ts), the seed CLI (bin/seed.ts) and the
 * use-case tests (test/support/memory-deps.ts) all call it.
 *
 * Each part of `Deps` is built by one function below (`…Part`); `buildDeps` builds them all (local
 * mode), and one builder per Lambda function builds the parts that function's use cases pick, from
 * the sources it is granted: the warm-up is given no client secrets, discovery only the table.
 * A part nobody asks for is neither constructed nor, since the entry never references it, bundled.
 */

/** The stores over the table, uncached: every port the table serves. */
export type Stores = Pick<Deps, 'directory' | 'tokens' | 'sessions' | 'customers' | 'publicKeys' | 'authorizations' | 'signups'>;

/**
 * The table: a DynamoDB client and table name (AWS or dynalite), or a store that implements every
 * port itself (adapters/memory-store.ts; passed in, so no Lambda bundle carries it).
 */
export type TableSource =
  | { client: DynamoDBClient; tableName: string }
  | { memory: DirectoryStore & TokenStore & SessionStore & CustomerStore & PublicKeyStore & AuthorizationStore & SignupStore };

/** What a seed is applied to: the stores (cached or not) and the writers of the secrets. */
export function seedTarget(
  stores: Pick<Stores, 'directory' | 'sessions' | 'customers' | 'publicKeys' | 'authorizations'>,
  secrets: { clientSecrets: ClientSecretsWriter; signingKeys: SigningKeyWriter; providerSecrets: ProviderSecretsWriter },
): SeedTarget {
  const { directory, sessions, customers, publicKeys, authorizations } = stores;
  return { directory, sessions, customers, publicKeys, authorizations, ...secrets };
}

/** Loaders of the key material (Secrets Manager, or the local secrets file); each one optional. */
export interface KeySources {
  /** Named in the 503 a failed first load becomes: `Secrets Manager`, `local secrets file`. */
  name: string;
  clientSecrets?: () => Promise<ClientSecretsDocument>;
  cacheKey?: () => Promise<Buffer>;
  signingKeys?: () => Promise<PrivateSigningKey[]>;
  /** The identity providers' client secrets (issue 11): only the function that calls providers. */
  identityProviderSecrets?: () => Promise<ProviderSecretsDocument>;
}

export interface Sources<K extends KeySources = KeySources> {
  table: TableSource;
  keys: K;
  /** Where mail goes (`mailerPart`); without it a send answers 503 (`ServiceUnavailable('mail')`). */
  mail?: MailSource;
}

/**
 * Where the broker's mail goes: an outbox directory (local mode, operating.md `DATA_DIR/outbox`)
 * or Amazon SES v2 (AWS; entry-points/aws-sources.ts `awsMail()`).
 */
export type MailSource = { outbox: string } | { ses: SESv2Client };

export interface Settings {
  clock: Clock;
  log: Logger;
  serviceTokenReuseShare: number;
  /** How long each loaded value is held (config.ts DEFAULTS.awsHold or .localHold). */
  hold: HoldSeconds;
  /** Logged when a reload fails and the cached value keeps serving; by default nothing. */
  onStale?: (error: unknown) => void;
  /**
   * The service-token cache's in-process copy (adapters/near-cache.ts), for the functions that
   * answer `client_credentials`; absent or 0 seconds: every request reads the cache item.
   */
  nearCache?: { staleSeconds: number; nowMs?: MillisecondClock };
  /** The decoy hash's cost: that of the customers' hashes; production's if absent. */
  passwordHashing?: ScryptParams;
}

type Loader<T> = () => Promise<T>;

/** The table's directory and token stores (the oauth, warm-up and storefront functions). */
function tokenStoresOf(table: TableSource): DirectoryStore & TokenStore {
  return 'memory' in table ? table.memory : new DynamoDbStore(table.client, table.tableName);
}

/** The table's refresh families, customers and published keys (storefront, discovery; oauth's introspection). */
function sessionStoresOf(table: TableSource): SessionStore & CustomerStore & PublicKeyStore {
  return 'memory' in table ? table.memory : new DynamoDbSessions(table.client, table.tableName);
}

/** The table's authorization requests and codes (the authorize and oauth functions). */
function authorizationStoreOf(table: TableSource): AuthorizationStore {
  return 'memory' in table ? table.memory : new DynamoAuthorizations(new DynamoTable(table.client, table.tableName));
}

/** Pending signups, their links, the mail gate and the per-source counter (contract section 11). */
function signupStoreOf(table: TableSource): SignupStore {
  return 'memory' in table ? table.memory : new DynamoDbSignups(table.client, table.tableName);
}

/** The stores over a table, uncached: the same construction for the broker, the seed and the incident commands. */
export function storesOf(table: TableSource): Stores {
  const tokens = tokenStoresOf(table);
  const sessions = sessionStoresOf(table);
  return {
    directory: tokens,
    tokens,
    sessions,
    customers: sessions,
    publicKeys: sessions,
    authorizations: authorizationStoreOf(table),
    signups: signupStoreOf(table),
  };
}

// One builder per part of `Deps`, each with its hold time from the settings (config.ts DEFAULTS).
// Top-level functions, so a bundle holds only the parts its entry's builder calls.

function heldPart<T>(settings: Settings, name: string, load: Loader<T>, seconds: number): RefreshingValue<T> {
  return new RefreshingValue(name, load, settings.clock, seconds, settings.hold.retryAfterFailure, settings.onStale);
}

function directoryPart(stores: DirectoryStore, settings: Settings): Deps['directory'] {
  return new CachedDirectory(stores, settings.clock, settings.hold.directory);
}

function secretsPart(name: string, load: Loader<ClientSecretsDocument>, settings: Settings): Deps['secrets'] {
  return new VersionedClientSecrets(heldPart(settings, name, load, settings.hold.clientSecrets), settings.clock);
}

function keysPart(name: string, load: Loader<Buffer>, settings: Settings): Deps['keys'] {
  const key = heldPart(settings, name, load, settings.hold.cacheKey);
  return { cacheKey: () => key.get() };
}

function signingKeysPart(name: string, load: Loader<PrivateSigningKey[]>, settings: Settings): Deps['signingKeys'] {
  const keys = heldPart(settings, name, load, settings.hold.signingKeys);
  return { current: async () => signingKeyAt(await keys.get(), settings.clock()) };
}

/**
 * The identity-provider client (adapters/identity-providers.ts) over the provider secrets, held
 * like the client secrets (`hold.identityProviderSecrets`, at most that long until a changed
 * secret is used; a failed first load is a 503 naming `name`). Its discovery and JWKS caches live
 * as long as the function instance: build it once per cold start. For the federation function's
 * builder (helper F2's `buildFederationDeps`) and local mode.
 */
export function identityProvidersPart(
  name: string,
  load: Loader<ProviderSecretsDocument>,
  settings: Settings,
  options: IdentityProviderClientOptions = {},
): IdentityProviderClient {
  const secrets = heldPart(settings, name, load, settings.hold.identityProviderSecrets ?? settings.hold.clientSecrets);
  return countedIdentityProviders(
    identityProviderClient(async (tenant, provider) => providerSecretOf(await secrets.get(), tenant, provider), options),
  );
}

/**
 * Each call to a provider (a code exchanged, an access token verified) is one
 * `IdentityProviderCalls`; one the provider failed (unreachable, too slow, a 5xx: the 503 of
 * issue 11) is also one `IdentityProviderFailures`. A refusal of what the storefront brought (a
 * used code, a bad token) is the storefront's failure, not the provider's, and is not counted so.
 */
function countedIdentityProviders(client: IdentityProviderClient): IdentityProviderClient {
  const counted = <T>(call: Promise<T>): Promise<T> => {
    count('IdentityProviderCalls');
    return call.catch((error: unknown) => {
      if (error instanceof ServiceUnavailable) count('IdentityProviderFailures');
      throw error;
    });
  };
  return {
    exchangeCode: (tenant, provider, request) => counted(client.exchangeCode(tenant, provider, request)),
    verifyAccessToken: (tenant, provider, token) => counted(client.verifyAccessToken(tenant, provider, token)),
  };
}

/**
 * The mailer (ports.ts `Mailer`): local mode's outbox of `.eml` files, or SES. The message's bytes are
 * domain/mail.ts `renderRfc5322`'s, whichever adapter sends them.
 */
export function mailerPart(source: MailSource | undefined, settings: Settings): Mailer {
  if (!source)
    return countedMailer({ send: async () => Promise.reject(new ServiceUnavailable('mail', new Error('no mailer configured'))) });
  return countedMailer('ses' in source ? sesMailer(source.ses, settings.log) : outboxMailer(source.outbox, settings.log));
}

/** Each message handed to the mail service is one `MailsSent`; each send that failed one `MailsFailed`. */
function countedMailer(mailer: Mailer): Mailer {
  return {
    send: (mail) =>
      mailer.send(mail).then(
        (sent) => {
          count('MailsSent');
          return sent;
        },
        (error: unknown) => {
          count('MailsFailed');
          throw error;
        },
      ),
  };
}

function liveKeysPart(publicKeys: PublicKeyStore, settings: Settings): Deps['liveKeys'] {
  const { clock, hold } = settings;
  const read = () => publicKeys.getPublishedKeys();
  if (hold.publishedKeys === undefined) return async () => liveKeys(await read(), clock());
  const published = new RefreshingValue('DynamoDB', read, clock, hold.publishedKeys, hold.retryAfterFailure);
  return async () => liveKeys(await published.get(), clock());
}

/**
 * The token store with the near cache in front of its cache item, when the settings ask for one.
 * Either way each read of a cached service token is counted by where it was answered
 * (`ServiceTokenCache`, metrics.ts): near, table or miss.
 */
function nearCachedPart(tokens: TokenStore, settings: Settings): TokenStore {
  // Bound 0 (or none): no copy, every lookup reads the table; the lookups are counted either way.
  const { staleSeconds = 0, nowMs } = settings.nearCache ?? {};
  return new NearCachedTokens(tokens, { staleSeconds, nowMs, observe: countCacheLookup });
}

function serviceTokensPart(settings: Settings): Pick<Deps, 'unseal' | 'serviceTokenReuseShare'> {
  return { unseal: memoisedUnseal(unseal), serviceTokenReuseShare: settings.serviceTokenReuseShare };
}

function passwordHashingPart(settings: Settings): Pick<Deps, 'passwordHashing'> {
  return settings.passwordHashing ? { passwordHashing: settings.passwordHashing } : {};
}

type With<K extends keyof KeySources> = KeySources & Required<Pick<KeySources, K>>;

/**
 * Everything, from every source: local mode, which serves all functions from one process.
 * `issuer` is configuration (config.ts ISSUER), as for the functions below that sign.
 */
export function buildDeps(sources: Sources<With<'clientSecrets' | 'cacheKey' | 'signingKeys'>>, settings: Settings, issuer: string): Deps {
  const stores = storesOf(sources.table);
  const { name, clientSecrets, cacheKey, signingKeys } = sources.keys;
  return {
    ...stores,
    tokens: nearCachedPart(stores.tokens, settings),
    directory: directoryPart(stores.directory, settings),
    liveKeys: liveKeysPart(stores.publicKeys, settings),
    secrets: secretsPart(name, clientSecrets, settings),
    keys: keysPart(name, cacheKey, settings),
    signingKeys: signingKeysPart(name, signingKeys, settings),
    // A broker without provider secrets (the seed names no provider) has none to call.
    identityProviders: identityProvidersPart(name, sources.keys.identityProviderSecrets ?? (async () => ({})), settings),
    mailer: mailerPart(sources.mail, settings),
    issuer,
    ...serviceTokensPart(settings),
    ...passwordHashingPart(settings),
    clock: settings.clock,
    log: settings.log,
  };
}

/**
 * The warm-up: mints and caches service tokens; the cache key and the signing key (JWT access
 * tokens, contract section 9), no client secrets, no sessions.
 */
export function buildServiceTokenDeps(
  sources: Sources<With<'cacheKey' | 'signingKeys'>>,
  settings: Settings,
  issuer: string,
): ServiceTokenDeps {
  const tokens = tokenStoresOf(sources.table);
  return {
    directory: directoryPart(tokens, settings),
    tokens,
    keys: keysPart(sources.keys.name, sources.keys.cacheKey, settings),
    signingKeys: signingKeysPart(sources.keys.name, sources.keys.signingKeys, settings),
    issuer,
    ...serviceTokensPart(settings),
    clock: settings.clock,
    log: settings.log,
  };
}

/** The oauth function: service tokens, client authentication, introspection and revocation (sessions too). */
export function buildOAuthDeps(
  sources: Sources<With<'cacheKey' | 'clientSecrets' | 'signingKeys'>>,
  settings: Settings,
  issuer: string,
): OAuthDeps {
  const serviceTokenDeps = buildServiceTokenDeps(sources, settings, issuer);
  return {
    ...serviceTokenDeps,
    // The warm-up reads the table itself; the function that answers requests keeps a near copy.
    tokens: nearCachedPart(serviceTokenDeps.tokens, settings),
    sessions: sessionStoresOf(sources.table),
    secrets: secretsPart(sources.keys.name, sources.keys.clientSecrets, settings),
    // The authorization_code grant redeems the codes the sign-in page issued.
    authorizations: authorizationStoreOf(sources.table),
  };
}

/** The storefront function: refresh families and customers; the signing key, no client secrets, no cache key. */
export function buildStorefrontDeps(sources: Sources<With<'signingKeys'>>, settings: Settings): StorefrontDeps {
  return { ...customerSessionsPart(sources, settings), ...passwordHashingPart(settings) };
}

/**
 * What every function that starts customer sessions has (storefront, federation, signup): the
 * cached directory, the refresh families and customers, the signing key for the saas_token.
 */
function customerSessionsPart(
  sources: Sources<With<'signingKeys'>>,
  settings: Settings,
): Pick<Deps, 'directory' | 'sessions' | 'customers' | 'signingKeys' | 'clock' | 'log'> {
  const sessions = sessionStoresOf(sources.table);
  return {
    directory: directoryPart(tokenStoresOf(sources.table), settings),
    sessions,
    customers: sessions,
    signingKeys: signingKeysPart(sources.keys.name, sources.keys.signingKeys, settings),
    clock: settings.clock,
    log: settings.log,
  };
}

/** The discovery function: the published public keys, from the table; no key material at all. */
export function buildDiscoveryDeps(table: TableSource, settings: Settings): Pick<Deps, 'liveKeys' | 'clock' | 'log'> {
  return { liveKeys: liveKeysPart(sessionStoresOf(table), settings), clock: settings.clock, log: settings.log };
}

/**
 * The authorize function (the sign-in page): app clients and tenants (cached), customers and
 * their attempt counters, the authorization records; no key material at all (a code is a random
 * token whose hash is stored, signed by nobody).
 */
export function buildAuthorizeDeps(table: TableSource, settings: Settings): AuthorizeDeps {
  return {
    directory: directoryPart(tokenStoresOf(table), settings),
    customers: sessionStoresOf(table),
    // Only the customer-session index of it: a code issued is indexed among the customer's sessions.
    sessions: sessionStoresOf(table),
    authorizations: authorizationStoreOf(table),
    ...passwordHashingPart(settings),
    clock: settings.clock,
    log: settings.log,
  };
}

/**
 * The federation function (social login, token exchange): the identity providers (and their
 * secrets), refresh families, customers and their linked identities; the signing key for the
 * saas_token; no client secrets, no cache key.
 */
export function buildFederationDeps(sources: Sources<With<'signingKeys' | 'identityProviderSecrets'>>, settings: Settings): FederationDeps {
  return {
    ...customerSessionsPart(sources, settings),
    identityProviders: identityProvidersPart(sources.keys.name, sources.keys.identityProviderSecrets, settings),
  };
}

/**
 * The signup function (contract section 11): the directory, refresh families, customers and the
 * signup items, the signing key for the saas_token, and the mailer; no client secrets, no cache key.
 */
export function buildSignupDeps(sources: Sources<With<'signingKeys'>>, settings: Settings): SignupDeps {
  return {
    ...customerSessionsPart(sources, settings),
    signups: signupStoreOf(sources.table),
    mailer: mailerPart(sources.mail, settings),
    ...passwordHashingPart(settings),
  };
}
