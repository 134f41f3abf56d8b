import { PutItemCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { CustomerRecord, OptInLookup, PendingSignup, SignupStore } from '../../ports.js';
import { bool, json, n, num, optStr, s, str, type Item } from './item.js';
import { customerKey, customerOfPk, mailGateKey, optInKey, sourceCounterKey } from './keys.js';
import { DynamoTable } from './table.js';

/**
 * Signups with double opt-in (contract section 11). The pending customer is the `CUST#` item
 * itself (`pending`, the scrypt hash, the kept CustomerSignup extras as `details`, the current
 * confirmation token's hash and expiry `optinH` / `optinExp`, and a `ttl` 7 days after the
 * signup); `OPTIN#<selector>` names the customer a link's token belongs to; `MAILGATE#` allows
 * one mail a minute per address; `SRC#<source>` counts signups and resends per source IP.
 */
export class DynamoDbSignups implements SignupStore {
  private readonly table: DynamoTable;

  constructor(client: DynamoDBClient, tableName: string) {
    this.table = new DynamoTable(client, tableName);
  }

  /** Only under a new email, or over a pending signup that expired (its TTL not yet run). */
  async createSignup(signup: PendingSignup, now: number): Promise<boolean> {
    const created = await this.table.conditional(() =>
      this.table.client.send(
        new PutItemCommand({
          TableName: this.table.tableName,
          Item: {
            ...customerKey(signup.tenant, signup.email),
            passwordHash: s(signup.passwordHash),
            customerNumber: s(signup.customerNumber),
            legalEntities: s('[]'),
            initialPassword: { BOOL: false },
            pending: { BOOL: true },
            details: s(signup.details),
            optinH: s(signup.optIn.hash),
            optinExp: n(signup.optIn.expiresAt),
            ttl: n(signup.expiresAt),
          },
          ConditionExpression: 'attribute_not_exists(pk) OR (pending = :true AND #ttl <= :now)',
          ExpressionAttributeNames: { '#ttl': 'ttl' },
          ExpressionAttributeValues: { ':true': { BOOL: true }, ':now': n(now) },
        }),
      ),
    );
    if (created) await this.putLookup(signup.tenant, signup.email, signup.optIn);
    return created;
  }

  async replaceOptIn(tenant: string, email: string, optIn: PendingSignup['optIn'], now: number): Promise<boolean> {
    const replaced = await this.table.conditional(() =>
      this.table.client.send(
        new UpdateItemCommand({
          TableName: this.table.tableName,
          Key: customerKey(tenant, email),
          UpdateExpression: 'SET optinH = :hash, optinExp = :exp',
          ConditionExpression: 'pending = :true AND #ttl > :now',
          ExpressionAttributeNames: { '#ttl': 'ttl' },
          ExpressionAttributeValues: { ':true': { BOOL: true }, ':now': n(now), ':hash': s(optIn.hash), ':exp': n(optIn.expiresAt) },
        }),
      ),
    );
    if (replaced) await this.putLookup(tenant, email, optIn);
    return replaced;
  }

  async findOptIn(selector: string): Promise<OptInLookup | undefined> {
    const [item] = await this.table.getMany([optInKey(selector)]);
    return item ? { tenant: str(item, 'tenant'), email: str(item, 'email'), expiresAt: num(item, 'ttl') } : undefined;
  }

  async confirmSignup(tenant: string, email: string, hash: string, now: number): Promise<CustomerRecord | undefined> {
    let written: Item | undefined;
    const confirmed = await this.table.conditional(async () => {
      const result = await this.table.client.send(
        new UpdateItemCommand({
          TableName: this.table.tableName,
          Key: customerKey(tenant, email),
          UpdateExpression: 'REMOVE pending, optinH, optinExp, #ttl',
          ConditionExpression: 'pending = :true AND optinH = :hash AND optinExp > :now AND #ttl > :now',
          ExpressionAttributeNames: { '#ttl': 'ttl' },
          ExpressionAttributeValues: { ':true': { BOOL: true }, ':hash': s(hash), ':now': n(now) },
          ReturnValues: 'ALL_NEW',
        }),
      );
      written = result.Attributes;
    });
    if (!confirmed || !written) return undefined;
    const { tenant: t, email: e } = customerOfPk(str(written, 'pk'));
    const customer: CustomerRecord = {
      tenant: t,
      email: e,
      customerNumber: str(written, 'customerNumber'),
      legalEntities: json<string[]>(written, 'legalEntities'),
      initialPassword: bool(written, 'initialPassword'),
    };
    const passwordHash = optStr(written, 'passwordHash');
    if (passwordHash !== undefined) customer.passwordHash = passwordHash;
    return customer;
  }

  async claimMailGate(tenant: string, email: string, now: number, until: number): Promise<boolean> {
    return this.table.conditional(() =>
      this.table.client.send(
        new PutItemCommand({
          TableName: this.table.tableName,
          Item: { ...mailGateKey(tenant, email), until: n(until), ttl: n(until) },
          ConditionExpression: 'attribute_not_exists(pk) OR #until <= :now',
          ExpressionAttributeNames: { '#until': 'until' },
          ExpressionAttributeValues: { ':now': n(now) },
        }),
      ),
    );
  }

  async releaseMailGate(tenant: string, email: string): Promise<void> {
    await this.table.delete(mailGateKey(tenant, email));
  }

  /** A counter per fixed window: one conditional add, refused at the limit. */
  async countSourceRequest(source: string, now: number, limits: { windowSeconds: number; limit: number }): Promise<boolean> {
    const window = Math.floor(now / limits.windowSeconds);
    return this.table.conditional(() =>
      this.table.client.send(
        new UpdateItemCommand({
          TableName: this.table.tableName,
          Key: sourceCounterKey(source, window),
          UpdateExpression: 'ADD hits :one SET #ttl = :end',
          ConditionExpression: 'attribute_not_exists(hits) OR hits < :limit',
          ExpressionAttributeNames: { '#ttl': 'ttl' },
          ExpressionAttributeValues: { ':one': n(1), ':limit': n(limits.limit), ':end': n((window + 1) * limits.windowSeconds) },
        }),
      ),
    );
  }

  private async putLookup(tenant: string, email: string, optIn: PendingSignup['optIn']): Promise<void> {
    await this.table.put({ ...optInKey(optIn.selector), tenant: s(tenant), email: s(email), ttl: n(optIn.expiresAt) });
  }
}
