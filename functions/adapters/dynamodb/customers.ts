import { DeleteItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { identityDigest } from '../../domain/federated-customers.js';
import type { LinkedIdentity } from '../../domain/federation.js';
import { ServiceUnavailable } from '../../domain/errors.js';
import { refusesAttempt, type AttemptLimits, type AttemptReservation, type LoginAttempts } from '../../domain/login-throttle.js';
import type {
  CustomerRecord,
  CustomerSessionEntry,
  CustomerStore,
  FederatedLoginContext,
  IdentityLink,
  LoginContext,
  SessionStore,
} from '../../ports.js';
import { fromFamilyItem } from './families.js';
import { bool, json, n, num, optNum, optStr, s, str, type Item } from './item.js';
import {
  customerKey,
  customerOfPk,
  customerSessionKey,
  customerSessionsPk,
  CUSTOMER_PREFIX,
  IDENTITY_PREFIX,
  identityKey,
  lockKey,
  SEEDED_CUSTOMERS_PK,
  seededCustomersKey,
  TOKEN_PREFIX,
  tokenKey,
} from './keys.js';
import type { DynamoTable } from './table.js';

/**
 * Customers (`CUST#<tenant>#<email>`: the password hash, written by the seed only), their login
 * attempts (`LOCK#<tenant>#<email>`), the index of their sessions (`CSESS#<tenant>#<email>`, one
 * item per family, so a password change can end them all) and the seed's record of which
 * customers it wrote per tenant (`SEED#CUSTOMERS`), and the external identities linked to customers
 * (`IDENT#<tenant>#<digest>`, contract section 10).
 */
export class DynamoCustomers
  implements CustomerStore, Pick<SessionStore, 'indexCustomerSession' | 'listCustomerSessions' | 'unindexCustomerSessions'>
{
  constructor(private readonly table: DynamoTable) {}

  // --- the index of a customer's sessions ------------------------------------------------------

  async indexCustomerSession(entry: CustomerSessionEntry): Promise<void> {
    await this.table.put({
      ...customerSessionKey(entry.tenant, entry.email, entry.selector),
      endsAt: n(entry.endsAt),
      ttl: n(entry.endsAt),
    });
  }

  async listCustomerSessions(tenant: string, email: string): Promise<string[]> {
    const items = await this.table.queryPartition(customerSessionsPk(tenant, email), { projection: 'sk' });
    return items.map((item) => str(item, 'sk'));
  }

  async unindexCustomerSessions(tenant: string, email: string, selectors: string[]): Promise<void> {
    for (const selector of selectors) await this.table.delete(customerSessionKey(tenant, email, selector));
  }

  // --- customers and login attempts ------------------------------------------------------------

  async loadLogin(sessionSelector: string, tenant: string, email: string): Promise<LoginContext> {
    const items = await this.table.getMany([tokenKey(sessionSelector), customerKey(tenant, email)]);
    const context: LoginContext = {};
    for (const item of items) {
      const pk = str(item, 'pk');
      if (pk.startsWith(TOKEN_PREFIX) && str(item, 'kind') === 'session') context.session = fromFamilyItem(item);
      else if (pk.startsWith(CUSTOMER_PREFIX)) context.customer = fromCustomerItem(item);
    }
    return context;
  }

  /**
   * Add first, creating a missing counter in the same write: the common cases (an account without
   * a counter, since a success deletes it, and a live window) are one round trip, and a counter a
   * concurrent success deletes meanwhile cannot fail it. Only an expired window fails that write
   * and is restarted at 1 by a conditional write one concurrent caller wins; a refusal reads the
   * counter (through BatchGetItem, the storefront's read grant) to say how long to wait. A counter
   * that changed in between is tried again.
   */
  async reserveLoginAttempt(tenant: string, email: string, limits: AttemptLimits): Promise<AttemptReservation> {
    const key = lockKey(tenant, email);
    for (let round = 0; round < 3; round++) {
      let added: Item | undefined;
      const reserved = await this.table.conditional(async () => {
        const result = await this.table.client.send(
          new UpdateItemCommand({
            TableName: this.table.tableName,
            Key: key,
            UpdateExpression: 'SET attempts = if_not_exists(attempts, :zero) + :one, windowEnd = :windowEnd, #ttl = :windowEnd',
            ConditionExpression:
              'attribute_not_exists(attempts) OR (windowEnd > :now AND attempts < :lockAfter AND (attribute_not_exists(notBefore) OR notBefore <= :now))',
            ExpressionAttributeNames: { '#ttl': 'ttl' },
            ExpressionAttributeValues: {
              ':zero': n(0),
              ':one': n(1),
              ':now': n(limits.now),
              ':windowEnd': n(limits.windowEnd),
              ':lockAfter': n(limits.lockAfter),
            },
            ReturnValues: 'ALL_NEW',
          }),
        );
        added = result.Attributes;
      });
      if (reserved && added) return { reserved: true, attempt: num(added, 'attempts') };

      const restarted = await this.table.conditional(() =>
        this.table.client.send(
          new UpdateItemCommand({
            TableName: this.table.tableName,
            Key: key,
            UpdateExpression: 'SET attempts = :one, windowEnd = :windowEnd, #ttl = :windowEnd REMOVE notBefore, failures, lastFailureAt',
            ConditionExpression: 'windowEnd <= :now',
            ExpressionAttributeNames: { '#ttl': 'ttl' },
            ExpressionAttributeValues: { ':one': n(1), ':now': n(limits.now), ':windowEnd': n(limits.windowEnd) },
          }),
        ),
      );
      if (restarted) return { reserved: true, attempt: 1 };

      const [item] = await this.table.getMany([key]);
      const counter = item && fromAttemptsItem(item);
      if (counter && refusesAttempt(counter, limits.now)) return { reserved: false, counter };
    }
    throw new ServiceUnavailable('DynamoDB', new Error('login attempt counter kept changing'));
  }

  async slowLoginAttempts(tenant: string, email: string, notBefore: number): Promise<void> {
    // Only on a counter that still exists (a success may have cleared it) and only later.
    await this.table.conditional(() =>
      this.table.client.send(
        new UpdateItemCommand({
          TableName: this.table.tableName,
          Key: lockKey(tenant, email),
          UpdateExpression: 'SET notBefore = :notBefore',
          ConditionExpression: 'attribute_exists(attempts) AND (attribute_not_exists(notBefore) OR notBefore < :notBefore)',
          ExpressionAttributeValues: { ':notBefore': n(notBefore) },
        }),
      ),
    );
  }

  async clearLoginAttempts(tenant: string, email: string): Promise<void> {
    await this.table.delete(lockKey(tenant, email));
  }

  /**
   * A batch read of one key, not a GetItem: the storefront function re-reads the customer after
   * a login (use-cases/customer-login.ts) and holds only a BatchGetItem grant on `CUST#`.
   */
  async getCustomer(tenant: string, email: string): Promise<CustomerRecord | undefined> {
    const [item] = await this.table.getMany([customerKey(tenant, email)]);
    return item ? fromCustomerItem(item) : undefined;
  }

  async putCustomer(customer: CustomerRecord): Promise<void> {
    await this.table.put(toCustomerItem(customer));
  }

  // --- federated customers (contract section 10) -------------------------------------------------

  async loadFederatedLogin(
    sessionSelector: string | undefined,
    tenant: string,
    identity: LinkedIdentity,
    email: string | undefined,
  ): Promise<FederatedLoginContext> {
    const keys = [identityKey(tenant, identityDigest(identity))];
    if (sessionSelector !== undefined) keys.push(tokenKey(sessionSelector));
    if (email !== undefined) keys.push(customerKey(tenant, email));
    const context: FederatedLoginContext = {};
    for (const item of await this.table.getMany(keys)) {
      const pk = str(item, 'pk');
      if (pk.startsWith(TOKEN_PREFIX) && str(item, 'kind') === 'session') context.session = fromFamilyItem(item);
      else if (pk.startsWith(CUSTOMER_PREFIX)) context.customer = fromCustomerItem(item);
      else if (pk.startsWith(IDENTITY_PREFIX)) context.link = fromIdentityItem(item, tenant, identity);
    }
    return context;
  }

  async linkIdentity(link: IdentityLink, replacing?: string): Promise<boolean> {
    return this.table.conditional(() =>
      this.table.client.send(
        new PutItemCommand({
          TableName: this.table.tableName,
          Item: {
            ...identityKey(link.tenant, identityDigest(link.identity)),
            email: s(link.email),
            customerNumber: s(link.customerNumber),
          },
          ConditionExpression:
            replacing === undefined ? 'attribute_not_exists(pk)' : 'attribute_not_exists(pk) OR customerNumber = :replacing',
          ...(replacing === undefined ? {} : { ExpressionAttributeValues: { ':replacing': s(replacing) } }),
        }),
      ),
    );
  }

  async createCustomer(customer: CustomerRecord): Promise<boolean> {
    return this.table.conditional(() =>
      this.table.client.send(
        new PutItemCommand({
          TableName: this.table.tableName,
          Item: toCustomerItem(customer),
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      ),
    );
  }

  async deletePendingCustomer(tenant: string, email: string): Promise<boolean> {
    return this.table.conditional(() =>
      this.table.client.send(
        new DeleteItemCommand({
          TableName: this.table.tableName,
          Key: customerKey(tenant, email),
          ConditionExpression: 'pending = :true',
          ExpressionAttributeValues: { ':true': { BOOL: true } },
        }),
      ),
    );
  }

  async deleteCustomer(tenant: string, email: string): Promise<void> {
    await this.table.delete(customerKey(tenant, email));
  }

  async listSeededCustomers(): Promise<Record<string, string[]>> {
    const items = await this.table.queryPartition(SEEDED_CUSTOMERS_PK);
    return Object.fromEntries(items.map((item) => [str(item, 'sk'), json<string[]>(item, 'emails')]));
  }

  async putSeededCustomers(tenant: string, emails: string[]): Promise<void> {
    await this.table.put({ ...seededCustomersKey(tenant), emails: s(JSON.stringify(emails)) });
  }

  async deleteSeededCustomers(tenant: string): Promise<void> {
    await this.table.delete(seededCustomersKey(tenant));
  }
}

function fromAttemptsItem(item: Item): LoginAttempts | undefined {
  // A counter written before attempts were reserved (failures/lastFailureAt) counts as none.
  if (item.attempts?.N === undefined) return undefined;
  const counter: LoginAttempts = { attempts: num(item, 'attempts'), windowEnd: num(item, 'windowEnd') };
  const notBefore = optNum(item, 'notBefore');
  if (notBefore !== undefined) counter.notBefore = notBefore;
  return counter;
}

/** A federated-only customer has no `passwordHash`; `pending` is written only when true. */
function toCustomerItem(customer: CustomerRecord): Item {
  return {
    ...customerKey(customer.tenant, customer.email),
    ...(customer.passwordHash === undefined ? {} : { passwordHash: s(customer.passwordHash) }),
    customerNumber: s(customer.customerNumber),
    legalEntities: s(JSON.stringify(customer.legalEntities)),
    initialPassword: { BOOL: customer.initialPassword },
    ...(customer.pending ? { pending: { BOOL: true } } : {}),
  };
}

function fromCustomerItem(item: Item): CustomerRecord {
  const { tenant, email } = customerOfPk(str(item, 'pk'));
  const customer: CustomerRecord = {
    tenant,
    email,
    customerNumber: str(item, 'customerNumber'),
    legalEntities: json<string[]>(item, 'legalEntities'),
    initialPassword: bool(item, 'initialPassword'),
  };
  const passwordHash = optStr(item, 'passwordHash');
  if (passwordHash !== undefined) customer.passwordHash = passwordHash;
  if (item.pending?.BOOL === true) customer.pending = true;
  return customer;
}

/** The key holds only the identity's digest: the identity itself is the one the caller asked for. */
function fromIdentityItem(item: Item, tenant: string, identity: LinkedIdentity): IdentityLink {
  return { tenant, identity: { ...identity }, email: str(item, 'email'), customerNumber: str(item, 'customerNumber') };
}
