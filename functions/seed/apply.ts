import { resolveSettings } from '../domain/tenant.js';
import type { DirectoryStore } from '../ports.js';
import type { SecretMap } from '../adapters/client-secrets.js';
import type { Seed } from './schema.js';

/** Where client secrets are written: Secrets Manager in AWS, the local secrets file locally. */
export interface ClientSecretsWriter {
  currentClientSecrets(): Promise<SecretMap>;
  /** Stores a new version; the one it replaces stays accepted as the previous version. */
  putClientSecrets(secrets: SecretMap): Promise<void>;
}

export interface SeedReport {
  tenants: string[];
  serviceClients: string[];
  secretsRotated: boolean;
}

/**
 * Applies a validated seed. Every write is an idempotent put, so applying the same seed twice
 * changes nothing and a run that failed half-way is repaired by the next. Secrets are written
 * only when they changed, because each write is a rotation (the replaced secrets stay accepted
 * as the previous version). Secrets go first: a client whose directory entry is missing, or
 * whose secret is missing, cannot authenticate, so no partial state ever grants access.
 */
export async function applySeed(seed: Seed, directory: DirectoryStore, secrets: ClientSecretsWriter): Promise<SeedReport> {
  const wanted: SecretMap = {};
  for (const { serviceClients } of Object.values(seed.tenants)) {
    for (const [clientId, client] of Object.entries(serviceClients)) wanted[clientId] = client.secret;
  }
  const secretsRotated = !sameMap(await secrets.currentClientSecrets(), wanted);
  if (secretsRotated) await secrets.putClientSecrets(wanted);

  const report: SeedReport = { tenants: [], serviceClients: [], secretsRotated };
  for (const [tenant, spec] of Object.entries(seed.tenants)) {
    await directory.putTenant({ tenant, settings: resolveSettings(spec.settings), storefrontClients: spec.storefrontClients });
    report.tenants.push(tenant);
    for (const [clientId, client] of Object.entries(spec.serviceClients)) {
      await directory.putServiceClient({
        clientId,
        tenant,
        scopes: client.scopes,
        warmup: client.warmup,
        profile: client.profile,
      });
      report.serviceClients.push(clientId);
    }
  }
  return report;
}

function sameMap(a: SecretMap, b: SecretMap): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => Object.hasOwn(b, key) && a[key] === b[key]);
}
