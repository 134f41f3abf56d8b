import type { AppClient, ServiceClient, Tenant } from '../domain/tenant.js';
import type { Clock, DirectoryStore } from '../ports.js';

/**
 * Tenants and clients change only when a seed is applied, yet every token request reads them.
 * This keeps them in memory for `ttlSeconds` (a seed takes at most that long to reach a warm
 * function), misses included, in a bounded map so random client ids cannot grow it without end.
 */
export class CachedDirectory implements DirectoryStore {
  private readonly tenants = new BoundedTtlMap<Tenant | undefined>();
  private readonly clients = new BoundedTtlMap<ServiceClient | undefined>();
  private readonly appClients = new BoundedTtlMap<AppClient | undefined>();

  constructor(
    private readonly inner: DirectoryStore,
    private readonly clock: Clock,
    private readonly ttlSeconds: number,
  ) {}

  getTenant(tenant: string): Promise<Tenant | undefined> {
    return this.tenants.getOrLoad(tenant, this.clock() + this.ttlSeconds, this.clock(), () => this.inner.getTenant(tenant));
  }

  getServiceClient(clientId: string): Promise<ServiceClient | undefined> {
    return this.clients.getOrLoad(clientId, this.clock() + this.ttlSeconds, this.clock(), () => this.inner.getServiceClient(clientId));
  }

  getAppClient(clientId: string): Promise<AppClient | undefined> {
    return this.appClients.getOrLoad(clientId, this.clock() + this.ttlSeconds, this.clock(), () => this.inner.getAppClient(clientId));
  }

  listAppClientIds(): Promise<string[]> {
    return this.inner.listAppClientIds();
  }

  async putAppClient(client: AppClient): Promise<void> {
    await this.inner.putAppClient(client);
    this.appClients.delete(client.clientId);
  }

  async deleteAppClient(clientId: string): Promise<void> {
    await this.inner.deleteAppClient(clientId);
    this.appClients.delete(clientId);
  }

  async revokeAppClientTokens(clientId: string, at: number): Promise<AppClient | undefined> {
    const client = await this.inner.revokeAppClientTokens(clientId, at);
    this.appClients.delete(clientId);
    return client;
  }

  listWarmupClients(): Promise<ServiceClient[]> {
    return this.inner.listWarmupClients();
  }

  listTenantIds(): Promise<string[]> {
    return this.inner.listTenantIds();
  }

  listServiceClientIds(): Promise<string[]> {
    return this.inner.listServiceClientIds();
  }

  async deleteTenant(tenant: string): Promise<void> {
    await this.inner.deleteTenant(tenant);
    this.tenants.delete(tenant);
  }

  async deleteServiceClient(clientId: string): Promise<void> {
    await this.inner.deleteServiceClient(clientId);
    this.clients.delete(clientId);
  }

  async putTenant(tenant: Tenant): Promise<void> {
    await this.inner.putTenant(tenant);
    this.tenants.delete(tenant.tenant);
  }

  async putServiceClient(client: ServiceClient): Promise<void> {
    await this.inner.putServiceClient(client);
    this.clients.delete(client.clientId);
  }

  async revokeStorefrontClientTokens(tenant: string, clientId: string, at: number): Promise<boolean> {
    const revoked = await this.inner.revokeStorefrontClientTokens(tenant, clientId, at);
    this.tenants.delete(tenant);
    return revoked;
  }

  async revokeServiceClientTokens(clientId: string, at: number): Promise<ServiceClient | undefined> {
    const client = await this.inner.revokeServiceClientTokens(clientId, at);
    this.clients.delete(clientId);
    return client;
  }
}

class BoundedTtlMap<V> {
  private readonly entries = new Map<string, { until: number; value: Promise<V> }>();

  constructor(private readonly maxEntries = 1000) {}

  getOrLoad(key: string, until: number, now: number, load: () => Promise<V>): Promise<V> {
    const hit = this.entries.get(key);
    if (hit && now < hit.until) return hit.value;
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
    const value = load();
    this.entries.set(key, { until, value });
    // A failed load is not remembered: the next request tries again.
    value.catch(() => this.entries.delete(key));
    return value;
  }

  delete(key: string): void {
    this.entries.delete(key);
  }
}
