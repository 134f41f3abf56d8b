import { availableParallelism } from 'node:os';
import { audit } from '../audit.js';
import { planSecretRotation, type ClientSecretsDocument, type WantedClientSecret } from '../domain/client-secrets.js';
import type { IdentityProvider } from '../domain/federation.js';
import { define, sameProviderSecrets, type ProviderSecretsDocument } from '../domain/provider-secrets.js';
import { hashPassword, verifyPassword, type ScryptParams } from '../domain/passwords.js';
import { newSigningKey, retireSigningKeys, rotateSigningKeys, type PrivateSigningKey } from '../domain/signing-keys.js';
import { resolveSettings, type Lifetimes } from '../domain/tenant.js';
import type { AuthorizationStore, CustomerStore, DirectoryStore, PublicKeyStore, SessionStore } from '../ports.js';
import { silentLogger, type Logger } from '../log.js';
import { endCustomerSessions, updateCustomerSessionLegalEntities } from '../use-cases/customer-sessions.js';
import type { Seed } from './schema.js';

/** Where client secrets are written: Secrets Manager in AWS, the local secrets file locally. */
export interface ClientSecretsWriter {
  /** The document the broker reads (domain/client-secrets.ts). */
  currentClientSecrets(): Promise<ClientSecretsDocument>;
  /** Stores a new version of it; only this version is read (previous secrets live inside it). */
  putClientSecrets(secrets: ClientSecretsDocument): Promise<void>;
}

/** Where the private signing keys are kept, newest (latest activation) first. */
export interface SigningKeyWriter {
  currentSigningKeys(): Promise<PrivateSigningKey[]>;
  putSigningKeys(keys: PrivateSigningKey[]): Promise<void>;
}

/** Where the identity providers' client secrets are written (domain/provider-secrets.ts). */
export interface ProviderSecretsWriter {
  currentProviderSecrets(): Promise<ProviderSecretsDocument>;
  /** Stores a new version: the whole document, so a provider the seed dropped loses its secret. */
  putProviderSecrets(secrets: ProviderSecretsDocument): Promise<void>;
}

export interface SeedTarget {
  directory: DirectoryStore;
  customers: CustomerStore;
  /** A changed password or a removed customer ends that customer's sessions, */
  sessions: SessionStore;
  /** and the codes it signed in for that are not redeemed yet. */
  authorizations: AuthorizationStore;
  publicKeys: PublicKeyStore;
  clientSecrets: ClientSecretsWriter;
  signingKeys: SigningKeyWriter;
  providerSecrets: ProviderSecretsWriter;
}

export interface SeedReport {
  tenants: string[];
  serviceClients: string[];
  appClients: string[];
  /** Tenants, service clients and app clients the seed no longer names, removed from the directory. */
  removed: string[];
  customers: number;
  /** Customers the seed no longer names (`tenant/email`), deleted with their sessions ended. */
  customersRemoved: string[];
  /** Session families ended because a password changed or a customer was removed. */
  sessionsEnded: number;
  /** Whether a new version of the client secrets was written (a secret added, changed or removed). */
  secretsRotated: boolean;
  /** Clients whose secret changed: their previous secret is accepted until the time given. */
  rotatedSecrets: { clientId: string; previousUntil: number }[];
  /** Identity providers seeded, as `tenant/name`. */
  identityProviders: string[];
  /** Whether a new version of the identity provider secrets was written (one added, changed or removed). */
  providerSecretsWritten: boolean;
  signingKey: 'kept' | 'created' | 'rotated';
}

/** How a seed's customer passwords are hashed and checked: scrypt (domain/passwords.ts) unless a test injects its own. */
export interface PasswordHashing {
  hash(password: string): Promise<string>;
  verify(password: string, stored: string): Promise<boolean>;
}

export interface ApplySeedOptions {
  now: number;
  rotateSigningKey?: boolean;
  log?: Logger;
  /** scrypt's cost for new hashes; production's (N = 2^17) unless given (tests, local mode's option). */
  scrypt?: ScryptParams;
  /** Replaces scrypt altogether (tests count the hashes in flight). */
  passwords?: PasswordHashing;
  /** How many customers are applied at once; hashConcurrency() by default. */
  concurrency?: number;
  /** Called with 0 when the customers start, then with the count applied as each finishes. */
  progress?: (done: number, total: number) => void;
}

/**
 * How many customers to hash at once: one per core (os.availableParallelism()), and no more than
 * libuv's thread pool, where node:crypto's async scrypt runs (UV_THREADPOOL_SIZE, 4 unless set;
 * read once, when the pool starts). More would only queue behind the pool, each holding scrypt's
 * 128 MiB meanwhile, and the pool also serves the file reads and DNS lookups the writes need.
 */
export function hashConcurrency(cores = availableParallelism(), env: Record<string, string | undefined> = process.env): number {
  const configured = Number(env.UV_THREADPOOL_SIZE);
  const pool = Number.isInteger(configured) && configured >= 1 ? Math.min(configured, 1024) : 4;
  return Math.max(1, Math.min(cores, pool));
}

/**
 * Applies a validated seed. Every write is an idempotent put, so applying the same seed twice
 * changes nothing and a run that failed half-way is repaired by the next. Client secrets are
 * written only when one changed (domain/client-secrets.ts): a changed secret starts a rotation,
 * its old value accepted for the tenant's `secretRotationOverlapSeconds`, while an unchanged one
 * carries its entry over untouched, so re-applying a seed never extends an overlap. They go
 * first, so a partial run never leaves a client that authenticates with a stale entry. A
 * customer's stored hash is kept while the seed's password still matches it (a new salt every
 * run would be a change every run).
 *
 * Customers (contract section 2): a changed password, or a customer the seed no longer names,
 * ends that customer's sessions; a changed set of legal entities is copied into the live
 * sessions. The customer is written (or deleted) before its session index is read, which with
 * the login's own re-read closes the race with a login in flight (use-cases/customer-login.ts).
 * The seed keeps the emails it manages per tenant (SEED#CUSTOMERS) to know whom it dropped; it
 * records the union of old and new first, so a run that fails half-way still knows them all.
 * Customers are applied after every tenant's directory entries, several at once (scrypt is
 * what a long seed spends its time on), each one's steps in the order above.
 */
export async function applySeed(seed: Seed, target: SeedTarget, options: ApplySeedOptions): Promise<SeedReport> {
  const log = options.log ?? silentLogger;
  const wanted: Record<string, WantedClientSecret> = {};
  const tenantOf = new Map<string, string>();
  for (const [tenant, spec] of Object.entries(seed.tenants)) {
    const overlapSeconds = resolveSettings(spec.settings).secretRotationOverlapSeconds;
    // A confidential app client's secret sits beside the service clients' (contract section 8):
    // one document, one rotation rule, one check (ClientSecrets.verify). Ids are unique across both.
    const secrets = [
      ...Object.entries(spec.serviceClients),
      ...Object.entries(spec.appClients).filter(([, client]) => client.type === 'confidential'),
    ];
    for (const [clientId, { secret }] of secrets) {
      if (secret === undefined) continue; // refused by the schema for a confidential client
      Object.defineProperty(wanted, clientId, { value: { secret, overlapSeconds }, enumerable: true });
      tenantOf.set(clientId, tenant);
    }
  }
  const plan = planSecretRotation(await target.clientSecrets.currentClientSecrets(), wanted, options.now);
  // The identity providers' secrets, before the directory names the providers: the whole
  // document is the seed's, so a provider (or tenant) the seed dropped loses its secret.
  const providerSecrets = providerSecretsOf(seed);
  const providerSecretsWritten = !sameProviderSecrets(await target.providerSecrets.currentProviderSecrets(), providerSecrets);
  if (providerSecretsWritten) await target.providerSecrets.putProviderSecrets(providerSecrets);
  if (plan.changed) await target.clientSecrets.putClientSecrets(plan.document);
  for (const { clientId, previousUntil } of plan.rotated) {
    audit(log, 'secret_rotated', { tenant: tenantOf.get(clientId), clientId, change: 'seed', previousUntil });
  }

  const report: SeedReport = {
    tenants: [],
    serviceClients: [],
    appClients: [],
    removed: [],
    customers: 0,
    customersRemoved: [],
    sessionsEnded: 0,
    secretsRotated: plan.changed,
    rotatedSecrets: plan.rotated,
    identityProviders: [],
    providerSecretsWritten,
    signingKey: 'kept',
  };
  const sessionDeps = { sessions: target.sessions, authorizations: target.authorizations, clock: () => options.now, log };
  const named = new Map(
    Object.entries(seed.tenants).map(([tenant, spec]) => [tenant, [...new Set(spec.customers.map((c) => normalEmail(c.email)))]]),
  );
  const managed = await target.customers.listSeededCustomers();
  for (const [tenant, emails] of named) {
    const union = [...new Set([...(managed[tenant] ?? []), ...emails])];
    if (!sameSet(union, managed[tenant] ?? [])) await target.customers.putSeededCustomers(tenant, union);
  }

  let longestSignedToken = 0;
  for (const [tenant, spec] of Object.entries(seed.tenants)) {
    const settings = resolveSettings(spec.settings);
    longestSignedToken = Math.max(longestSignedToken, longestSignedLifetime(spec, settings.lifetimes));
    const identityProviders = identityProvidersOf(spec);
    await target.directory.putTenant({
      tenant,
      settings,
      storefrontClients: spec.storefrontClients,
      identityProviders,
      ...(spec.mail ? { mail: { from: spec.mail.from, optInLink: spec.mail.optInLink } } : {}),
    });
    report.identityProviders.push(...Object.keys(identityProviders).map((name) => `${tenant}/${name}`));
    report.tenants.push(tenant);
    for (const [clientId, client] of Object.entries(spec.serviceClients)) {
      await target.directory.putServiceClient({
        clientId,
        tenant,
        scopes: client.scopes,
        warmup: client.warmup,
        profile: client.profile,
        accessTokenFormat: client.accessTokenFormat,
        ...(client.audience === undefined ? {} : { audience: client.audience }),
      });
      report.serviceClients.push(clientId);
    }
    // The secret is not part of the directory entry: it went to the client secrets above.
    for (const [clientId, client] of Object.entries(spec.appClients)) {
      await target.directory.putAppClient({
        clientId,
        tenant,
        type: client.type,
        redirectUris: client.redirectUris,
        scopes: client.scopes,
        accessTokenFormat: client.accessTokenFormat,
        ...(client.audience === undefined ? {} : { audience: client.audience }),
      });
      report.appClients.push(clientId);
    }
  }

  // Customers last, all tenants' in one pool: each costs a scrypt (a hash, or the check that the
  // stored hash still matches), and distinct customers share nothing (the schema refuses an email
  // twice in a tenant), so they are applied concurrently, up to `concurrency` at a time.
  const customers = Object.entries(seed.tenants).flatMap(([tenant, spec]) => spec.customers.map((customer) => ({ tenant, customer })));
  const passwords = options.passwords ?? {
    hash: (password: string) => hashPassword(password, options.scrypt),
    verify: verifyPassword,
  };
  const applyCustomer = async ({ tenant, customer }: (typeof customers)[number]) => {
    const email = normalEmail(customer.email);
    const existing = await target.customers.getCustomer(tenant, email);
    // A federated-only customer (no hash) taking a seeded password is a password change: its
    // sessions end. An absent hash never counts as the same password.
    const existingHash = existing?.passwordHash;
    const samePassword = existingHash !== undefined && (await passwords.verify(customer.password, existingHash));
    const legalEntitiesChanged = existing !== undefined && !sameSet(existing.legalEntities, customer.legalEntities);
    // Sessions end (or take the new legal entities) after the write, and also before it: should
    // the run die between the write and the step after it, the next run finds the customer
    // already changed and does nothing, so the sessions that existed before the change must be
    // ended (or updated) already. (`ended` is added after its await: `report.sessionsEnded +=
    // await …` reads the sum before the await and would lose a concurrent customer's count.)
    const endOrUpdateSessions = async () => {
      if (existing && !samePassword) {
        const ended = await endCustomerSessions(sessionDeps, tenant, email, 'password_changed');
        report.sessionsEnded += ended;
      } else if (legalEntitiesChanged) {
        await updateCustomerSessionLegalEntities(sessionDeps, tenant, email, customer.legalEntities);
      }
    };
    await endOrUpdateSessions();
    await target.customers.putCustomer({
      tenant,
      email,
      passwordHash: samePassword ? existingHash : await passwords.hash(customer.password),
      customerNumber: customer.customerNumber,
      legalEntities: customer.legalEntities,
      initialPassword: customer.initialPassword,
    });
    await endOrUpdateSessions();
    report.customers++;
    options.progress?.(report.customers, customers.length);
  };
  options.progress?.(0, customers.length);
  await forEachBounded(customers, options.concurrency ?? hashConcurrency(), applyCustomer);

  // Customers the seed managed and no longer names (in a tenant it dropped, too) go, and so do
  // their sessions; then the record is brought down to what the seed names.
  for (const [tenant, emails] of Object.entries(managed)) {
    const kept = new Set(named.get(tenant) ?? []);
    for (const email of emails) {
      if (kept.has(email)) continue;
      await target.customers.deleteCustomer(tenant, email);
      report.sessionsEnded += await endCustomerSessions(sessionDeps, tenant, email, 'customer_removed');
      report.customersRemoved.push(`${tenant}/${email}`);
    }
  }
  for (const tenant of Object.keys(managed)) {
    if (!named.has(tenant)) await target.customers.deleteSeededCustomers(tenant);
  }
  for (const [tenant, emails] of named) {
    const union = [...new Set([...(managed[tenant] ?? []), ...emails])];
    if (!sameSet(union, emails)) await target.customers.putSeededCustomers(tenant, emails);
  }

  report.removed = await removeUnnamed(seed, target.directory);
  report.signingKey = await ensureSigningKey(target, options, longestSignedToken);
  return report;
}

/**
 * Runs `work` on every item, at most `limit` at a time. After a failure no new item starts; the
 * ones in flight finish (a seed stops between writes, never in the middle of a customer's
 * steps), then the first error is thrown. The next run repairs what was left, as after any
 * failed run.
 */
async function forEachBounded<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (failure === undefined && next < items.length) {
      const item = items[next++]!;
      try {
        await work(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failure) throw failure.error;
}

/**
 * A client or tenant dropped from the seed must stop working: its secret leaves the client
 * secrets, and authentication also needs its directory entry, so deleting that ends it within
 * the directory cache time (and introspection of its tokens says inactive). (Customers are
 * removed by applySeed from the seed's own record of them.)
 */
async function removeUnnamed(seed: Seed, directory: DirectoryStore): Promise<string[]> {
  const tenants = new Set(Object.keys(seed.tenants));
  const clients = new Set(Object.values(seed.tenants).flatMap((t) => Object.keys(t.serviceClients)));
  const appClients = new Set(Object.values(seed.tenants).flatMap((t) => Object.keys(t.appClients)));
  const removed: string[] = [];
  for (const clientId of await directory.listServiceClientIds()) {
    if (clients.has(clientId)) continue;
    await directory.deleteServiceClient(clientId);
    removed.push(`client ${clientId}`);
  }
  // Without its entry an app client can neither start a flow nor redeem a code or refresh token,
  // and introspection of its tokens says inactive, as for a removed service client.
  for (const clientId of await directory.listAppClientIds()) {
    if (appClients.has(clientId)) continue;
    await directory.deleteAppClient(clientId);
    removed.push(`app client ${clientId}`);
  }
  for (const tenant of await directory.listTenantIds()) {
    if (tenants.has(tenant)) continue;
    await directory.deleteTenant(tenant);
    removed.push(`tenant ${tenant}`);
  }
  return removed;
}

/**
 * A signing key exists after every seed; `rotateSigningKey` adds one that activates once every
 * cached JWK Set has it (domain/signing-keys.ts), and every seed prunes the keys no longer needed.
 * The public keys are written before the private ones, so a key is never used unpublished; each is
 * written only when it changed (a Secrets Manager write is a new version).
 */
async function ensureSigningKey(
  target: SeedTarget,
  options: { now: number; rotateSigningKey?: boolean },
  longestTokenLifetime: number,
): Promise<SeedReport['signingKey']> {
  const current = {
    privateKeys: await target.signingKeys.currentSigningKeys(),
    published: await target.publicKeys.getPublishedKeys(),
  };
  const create = current.privateKeys.length === 0 || options.rotateSigningKey;
  const next = create
    ? rotateSigningKeys(current, await newSigningKey(options.now), options.now, longestTokenLifetime)
    : retireSigningKeys(current, options.now, longestTokenLifetime);
  if (JSON.stringify(next.published) !== JSON.stringify(current.published)) await target.publicKeys.putPublishedKeys(next.published);
  if (JSON.stringify(next.privateKeys) !== JSON.stringify(current.privateKeys)) await target.signingKeys.putSigningKeys(next.privateKeys);
  if (!create) return 'kept';
  return current.privateKeys.length > 0 ? 'rotated' : 'created';
}

/**
 * The longest lifetime of a token this tenant's clients get signed with the signing key, which
 * stays published that long after its successor takes over: customer access tokens (the
 * saas_token) always, service and grant access tokens when a client of the kind asks for JWTs
 * (contract section 9).
 */
function longestSignedLifetime(spec: Seed['tenants'][string], lifetimes: Lifetimes): number {
  const jwt = (clients: Record<string, { accessTokenFormat: string }>) =>
    Object.values(clients).some((client) => client.accessTokenFormat === 'jwt');
  return Math.max(
    lifetimes.customerAccess,
    jwt(spec.serviceClients) ? lifetimes.serviceAccess : 0,
    jwt(spec.appClients) ? lifetimes.grantAccess : 0,
  );
}

/** The tenant's providers as the directory keeps them: everything but the secret, with the name. */
function identityProvidersOf(spec: Seed['tenants'][string]): Record<string, IdentityProvider> {
  const providers: Record<string, IdentityProvider> = {};
  for (const [name, { clientSecret: _secret, audience, authorizedParty, ...config }] of Object.entries(spec.identityProviders)) {
    define(providers, name, {
      name,
      ...config,
      ...(audience === undefined ? {} : { audience }),
      ...(authorizedParty === undefined ? {} : { authorizedParty }),
    });
  }
  return providers;
}

/** `{ tenant: { name: secret } }` for every provider the seed names. */
function providerSecretsOf(seed: Seed): ProviderSecretsDocument {
  const document: ProviderSecretsDocument = {};
  for (const [tenant, spec] of Object.entries(seed.tenants)) {
    const names = Object.entries(spec.identityProviders);
    if (names.length === 0) continue;
    const secrets: Record<string, string> = {};
    for (const [name, provider] of names) define(secrets, name, provider.clientSecret);
    define(document, tenant, secrets);
  }
  return document;
}

/** Emails are stored lower-cased (operating.md: compared case-insensitively). */
function normalEmail(email: string): string {
  return email.trim().toLowerCase();
}

function sameSet(a: string[], b: string[]): boolean {
  const left = new Set(a);
  const right = new Set(b);
  return left.size === right.size && [...left].every((value) => right.has(value));
}
