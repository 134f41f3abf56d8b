import {
  BatchGetItemCommand,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { ServiceUnavailable } from '../../domain/errors.js';
import { s, type Item } from './item.js';

/**
 * The table's plumbing, shared by every aggregate: the calls the broker makes (strongly
 * consistent reads, create-only puts, paginated partition queries) and the one SDK error mapping.
 */
export class DynamoTable {
  constructor(
    readonly client: DynamoDBClient,
    readonly tableName: string,
  ) {}

  async get(key: Item): Promise<Item | undefined> {
    const result = await this.call(() =>
      this.client.send(new GetItemCommand({ TableName: this.tableName, Key: key, ConsistentRead: true })),
    );
    return result.Item;
  }

  async put(item: Item): Promise<void> {
    await this.call(() => this.client.send(new PutItemCommand({ TableName: this.tableName, Item: item })));
  }

  /**
   * Puts an item whose key must be new. Token selectors are 128 random bits: a collision would be
   * a broken RNG, and must fail rather than overwrite.
   */
  async create(item: Item): Promise<void> {
    await this.call(() =>
      this.client.send(new PutItemCommand({ TableName: this.tableName, Item: item, ConditionExpression: 'attribute_not_exists(pk)' })),
    );
  }

  async delete(key: Item): Promise<void> {
    await this.call(() => this.client.send(new DeleteItemCommand({ TableName: this.tableName, Key: key })));
  }

  /**
   * Every item of one partition, all pages, strongly consistent; optionally only some attributes,
   * or only the items a filter keeps (`filter.values` binds its placeholders).
   */
  async queryPartition(pk: string, options: { projection?: string; filter?: { expression: string; values: Item } } = {}): Promise<Item[]> {
    const items: Item[] = [];
    let startKey: Item | undefined;
    do {
      const page = await this.call(() =>
        this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': s(pk), ...options.filter?.values },
            ConsistentRead: true,
            ExclusiveStartKey: startKey,
            ...(options.projection ? { ProjectionExpression: options.projection } : {}),
            ...(options.filter ? { FilterExpression: options.filter.expression } : {}),
          }),
        ),
      );
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return items;
  }

  /** Several items in one round trip; retries what DynamoDB left unprocessed. */
  async getMany(keys: Item[]): Promise<Item[]> {
    const found: Item[] = [];
    let pending: Item[] = keys;
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt === 3) throw new ServiceUnavailable('DynamoDB', new Error('BatchGetItem left keys unprocessed'));
      const result = await this.call(() =>
        this.client.send(new BatchGetItemCommand({ RequestItems: { [this.tableName]: { Keys: pending, ConsistentRead: true } } })),
      );
      found.push(...(result.Responses?.[this.tableName] ?? []));
      pending = result.UnprocessedKeys?.[this.tableName]?.Keys ?? [];
    }
    return found;
  }

  /**
   * Maps SDK failures: a failed condition is a domain outcome the caller handles; a request the
   * SDK says is malformed is a bug and propagates; anything else (throttling, 5xx, timeouts,
   * refused connections) is the store being unavailable, a 503.
   */
  async call<T>(send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw error;
      if (error instanceof Error && error.name === 'ValidationException') throw error;
      throw new ServiceUnavailable('DynamoDB', error);
    }
  }

  /** Runs a conditional write; false when its condition did not hold. */
  async conditional(send: () => Promise<unknown>): Promise<boolean> {
    try {
      await this.call(send);
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }
}
