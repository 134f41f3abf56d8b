import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { resolveSettings, type AppClient, type ServiceClient, type Tenant } from '../../domain/tenant.js';
import type { DirectoryStore } from '../../ports.js';
import { json, n, optNum, s, str, type Item } from './item.js';
import { APP_CLIENT_PK, appClientKey, CLIENT_PK, clientKey, TENANT_PK, tenantKey } from './keys.js';
import type { DynamoTable } from './table.js';

/**
 * The directory: tenant settings (`TENANT`) and service clients (`CLIENT`), written by the seed.
 * A service client item holds `doc` (its configuration, JSON, written by the seed), `warmup` (so
 * the warm-up can list its clients with a filtered Query) and, after the incident CLI revoked its
 * tokens, `tokensRevokedAt` (a number the seed leaves alone). App clients (`APPCLIENT`) are kept
 * the same way, in their own partition, so no service-client read can return one.
 */
export class DynamoDirectory implements DirectoryStore {
  constructor(private readonly table: DynamoTable) {}

  async getTenant(tenant: string): Promise<Tenant | undefined> {
    const item = await this.table.get(tenantKey(tenant));
    if (!item) return undefined;
    const doc = json<Omit<Tenant, 'tenant'>>(item, 'doc');
    const found: Tenant = {
      tenant,
      settings: resolveSettings(doc.settings),
      storefrontClients: doc.storefrontClients ?? [],
      // A tenant written before issue 11 has none.
      identityProviders: doc.identityProviders ?? {},
      ...(doc.mail ? { mail: doc.mail } : {}),
    };
    const revoked = item.sfRevoked?.M;
    if (revoked) {
      found.storefrontTokensRevokedAt = {};
      for (const [clientId, at] of Object.entries(revoked)) {
        Object.defineProperty(found.storefrontTokensRevokedAt, clientId, { value: Number(at.N), enumerable: true });
      }
    }
    return found;
  }

  /** An update, not a put: the `sfRevoked` marks the incident CLI set survive the next seed. */
  async putTenant(tenant: Tenant): Promise<void> {
    const doc = {
      settings: tenant.settings,
      storefrontClients: tenant.storefrontClients,
      identityProviders: tenant.identityProviders ?? {},
      ...(tenant.mail ? { mail: tenant.mail } : {}),
    };
    await this.table.call(() =>
      this.table.client.send(
        new UpdateItemCommand({
          TableName: this.table.tableName,
          Key: tenantKey(tenant.tenant),
          UpdateExpression: 'SET doc = :doc',
          ExpressionAttributeValues: { ':doc': s(JSON.stringify(doc)) },
        }),
      ),
    );
  }

  /**
   * `sfRevoked` is a map of storefront client id → epoch second. DynamoDB sets a map member only
   * in a map that exists, so the map is made first (if absent), then the member: two conditional
   * writes on the tenant's item, neither of which can create a tenant.
   */
  async revokeStorefrontClientTokens(tenant: string, clientId: string, at: number): Promise<boolean> {
    const update = (expression: string, names: Record<string, string> | undefined, values: Item) =>
      this.table.conditional(() =>
        this.table.client.send(
          new UpdateItemCommand({
            TableName: this.table.tableName,
            Key: tenantKey(tenant),
            UpdateExpression: expression,
            ConditionExpression: 'attribute_exists(pk)',
            ...(names ? { ExpressionAttributeNames: names } : {}),
            ExpressionAttributeValues: values,
          }),
        ),
      );
    if (!(await update('SET sfRevoked = if_not_exists(sfRevoked, :empty)', undefined, { ':empty': { M: {} } }))) return false;
    return update('SET sfRevoked.#client = :at', { '#client': clientId }, { ':at': n(at) });
  }

  async getServiceClient(clientId: string): Promise<ServiceClient | undefined> {
    const item = await this.table.get(clientKey(clientId));
    return item ? toServiceClient(item) : undefined;
  }

  /** An update, not a put: the `tokensRevokedAt` the incident CLI set survives the next seed. */
  async putServiceClient(client: ServiceClient): Promise<void> {
    // `warmup` beside the document, so the warm-up can list its clients with a filtered Query.
    await this.putClientDoc(clientKey(client.clientId), client, { warmup: { BOOL: client.warmup } });
  }

  async revokeServiceClientTokens(clientId: string, at: number): Promise<ServiceClient | undefined> {
    const updated = await this.markTokensRevoked(clientKey(clientId), at);
    return updated && toServiceClient(updated);
  }

  async listTenantIds(): Promise<string[]> {
    return (await this.table.queryPartition(TENANT_PK, { projection: 'sk' })).map((item) => str(item, 'sk'));
  }

  async listServiceClientIds(): Promise<string[]> {
    return (await this.table.queryPartition(CLIENT_PK, { projection: 'sk' })).map((item) => str(item, 'sk'));
  }

  async listWarmupClients(): Promise<ServiceClient[]> {
    const items = await this.table.queryPartition(CLIENT_PK, {
      filter: { expression: 'warmup = :yes', values: { ':yes': { BOOL: true } } },
    });
    return items.map(toServiceClient);
  }

  async deleteTenant(tenant: string): Promise<void> {
    await this.table.delete(tenantKey(tenant));
  }

  async deleteServiceClient(clientId: string): Promise<void> {
    await this.table.delete(clientKey(clientId));
  }

  // --- app clients ---------------------------------------------------------------------------

  async getAppClient(clientId: string): Promise<AppClient | undefined> {
    const item = await this.table.get(appClientKey(clientId));
    return item ? toAppClient(item) : undefined;
  }

  async putAppClient(client: AppClient): Promise<void> {
    await this.putClientDoc(appClientKey(client.clientId), client);
  }

  async revokeAppClientTokens(clientId: string, at: number): Promise<AppClient | undefined> {
    const updated = await this.markTokensRevoked(appClientKey(clientId), at);
    return updated && toAppClient(updated);
  }

  async listAppClientIds(): Promise<string[]> {
    return (await this.table.queryPartition(APP_CLIENT_PK, { projection: 'sk' })).map((item) => str(item, 'sk'));
  }

  async deleteAppClient(clientId: string): Promise<void> {
    await this.table.delete(appClientKey(clientId));
  }

  // --- what both kinds of client share ---------------------------------------------------------

  /**
   * A client's configuration as its `doc`, by an update, not a put: the `tokensRevokedAt` the
   * incident CLI set is a separate attribute, which survives the next seed.
   */
  private async putClientDoc(key: Item, client: { clientId: string; tokensRevokedAt?: number }, beside: Item = {}): Promise<void> {
    const { clientId: _key, tokensRevokedAt: _kept, ...doc } = client;
    const sets = Object.keys(beside).map((name) => `${name} = :${name}`);
    const values = Object.fromEntries(Object.entries(beside).map(([name, value]) => [`:${name}`, value]));
    await this.table.call(() =>
      this.table.client.send(
        new UpdateItemCommand({
          TableName: this.table.tableName,
          Key: key,
          UpdateExpression: `SET ${[...sets, 'doc = :doc'].join(', ')}`,
          ExpressionAttributeValues: { ...values, ':doc': s(JSON.stringify(doc)) },
        }),
      ),
    );
  }

  /** Incident response: one conditional write on an existing client; the item as it now stands. */
  private async markTokensRevoked(key: Item, at: number): Promise<Item | undefined> {
    let updated: Item | undefined;
    const matched = await this.table.conditional(async () => {
      const result = await this.table.client.send(
        new UpdateItemCommand({
          TableName: this.table.tableName,
          Key: key,
          UpdateExpression: 'SET tokensRevokedAt = :at',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':at': n(at) },
          ReturnValues: 'ALL_NEW',
        }),
      );
      updated = result.Attributes;
    });
    return matched ? updated : undefined;
  }
}

/**
 * A client of either kind from its item: the seed's `doc`, the id from the sort key, and the
 * incident CLI's `tokensRevokedAt` from its own attribute (a copy inside `doc` is never trusted).
 */
function toClient<C extends { clientId: string; tokensRevokedAt?: number }>(item: Item): C {
  const { tokensRevokedAt: _ignored, ...doc } = json<Omit<C, 'clientId'>>(item, 'doc');
  const client = { clientId: str(item, 'sk'), ...doc } as C;
  const tokensRevokedAt = optNum(item, 'tokensRevokedAt');
  if (tokensRevokedAt !== undefined) client.tokensRevokedAt = tokensRevokedAt;
  return client;
}

const toAppClient = (item: Item): AppClient => toClient<AppClient>(item);
const toServiceClient = (item: Item): ServiceClient => toClient<ServiceClient>(item);
