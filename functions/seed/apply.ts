import { hashPassword, verifyPassword } from '../domain/passwords.js';
import { newSigningKey, retireSigningKeys, rotateSigningKeys, type PrivateSigningKey } from '../domain/signing-keys.js';
import { resolveSettings } from '../domain/tenant.js';
import type { CustomerStore, DirectoryStore, PublicKeyStore } from '../ports.js';
import type { SecretMap } from '../adapters/client-secrets.js';
import type { Seed } from './schema.js';

/** Where client secrets are written: Secrets Manager in AWS, the local secrets file locally. */
export interface ClientSecretsWriter {
  currentClientSecrets(): Promise<SecretMap>;
  /** Stores a new version; the one it replaces stays accepted as the previous version. */
  putClientSecrets(secrets: SecretMap): Promise<void>;
}

/** Where the private signing keys are kept, newest (latest activation) first. */
export interface SigningKeyWriter {
  currentSigningKeys(): Promise<PrivateSigningKey[]>;
  putSigningKeys(keys: PrivateSigningKey[]): Promise<void>;
}

export interface SeedTarget {
  directory: DirectoryStore;
  customers: CustomerStore;
  publicKeys: PublicKeyStore;
  clientSecrets: ClientSecretsWriter;
  signingKeys: SigningKeyWriter;
}

export interface SeedReport {
  tenants: string[];
  serviceClients: string[];
  /** Tenants and service clients the seed no longer names, removed from the directory. */
  removed: string[];
  customers: number;
  secretsRotated: boolean;
  signingKey: 'kept' | 'created' | 'rotated';
}

/**
 * Applies a validated seed. Every write is an idempotent put, so applying the same seed twice
 * changes nothing and a run that failed half-way is repaired by the next. Client secrets are
 * written only when they changed, because each write is a rotation (the replaced secrets stay
 * accepted as the previous version); they go first, so a partial run never leaves a client that
 * authenticates with a stale entry. A customer's stored hash is kept while the seed's password
 * still matches it (a new salt every run would be a change every run).
 */
export async function applySeed(
  seed: Seed,
  target: SeedTarget,
  options: { now: number; rotateSigningKey?: boolean },
): Promise<SeedReport> {
  const wanted: SecretMap = {};
  for (const { serviceClients } of Object.values(seed.tenants)) {
    for (const [clientId, client] of Object.entries(serviceClients)) wanted[clientId] = client.secret;
  }
  const secretsRotated = !sameMap(await target.clientSecrets.currentClientSecrets(), wanted);
  if (secretsRotated) await target.clientSecrets.putClientSecrets(wanted);

  const report: SeedReport = { tenants: [], serviceClients: [], removed: [], customers: 0, secretsRotated, signingKey: 'kept' };
  let longestCustomerToken = 0;
  for (const [tenant, spec] of Object.entries(seed.tenants)) {
    const settings = resolveSettings(spec.settings);
    longestCustomerToken = Math.max(longestCustomerToken, settings.lifetimes.customerAccess);
    await target.directory.putTenant({ tenant, settings, storefrontClients: spec.storefrontClients });
    report.tenants.push(tenant);
    for (const [clientId, client] of Object.entries(spec.serviceClients)) {
      await target.directory.putServiceClient({ clientId, tenant, scopes: client.scopes, warmup: client.warmup, profile: client.profile });
      report.serviceClients.push(clientId);
    }
    for (const customer of spec.customers) {
      const email = customer.email.trim().toLowerCase();
      const existing = await target.customers.getCustomer(tenant, email);
      const passwordHash =
        existing && (await verifyPassword(customer.password, existing.passwordHash))
          ? existing.passwordHash
          : await hashPassword(customer.password);
      await target.customers.putCustomer({
        tenant,
        email,
        passwordHash,
        customerNumber: customer.customerNumber,
        legalEntities: customer.legalEntities,
        initialPassword: customer.initialPassword,
      });
      report.customers++;
    }
  }
  report.removed = await removeUnnamed(seed, target.directory);
  report.signingKey = await ensureSigningKey(target, options, longestCustomerToken);
  return report;
}

/**
 * A client or tenant dropped from the seed must stop working. A removed client's secret stays
 * accepted in the previous version until the next rotation, but authentication also needs its
 * directory entry, so deleting that is what ends it. (Customers are not listed without a table
 * scan; removing one is left to a later version of the seed.)
 */
async function removeUnnamed(seed: Seed, directory: DirectoryStore): Promise<string[]> {
  const tenants = new Set(Object.keys(seed.tenants));
  const clients = new Set(Object.values(seed.tenants).flatMap((t) => Object.keys(t.serviceClients)));
  const removed: string[] = [];
  for (const clientId of await directory.listServiceClientIds()) {
    if (clients.has(clientId)) continue;
    await directory.deleteServiceClient(clientId);
    removed.push(`client ${clientId}`);
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

function sameMap(a: SecretMap, b: SecretMap): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => Object.hasOwn(b, key) && a[key] === b[key]);
}
