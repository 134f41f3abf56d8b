import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  GetItemCommand,
  InternalServerError,
  ProvisionedThroughputExceededException,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { DynamoDbStore } from '../../functions/adapters/dynamodb-store.js';
import { ServiceUnavailable } from '../../functions/domain/errors.js';

/**
 * What only AWS does: throttling, server errors, timeouts. The store's real behaviour is tested
 * against dynalite in the integration tests; here the SDK is mocked to inject the failures.
 */

const dynamo = mockClient(DynamoDBClient);
const store = new DynamoDbStore(new DynamoDBClient({ region: 'eu-central-1' }), 'table');
const record = { selector: 's', hash: 'h', tenant: 'acme', clientId: 'c', scopes: ['a'], issuedAt: 1, expiresAt: 2 };
const meta = { $metadata: {} };

afterEach(() => dynamo.reset());

describe('DynamoDbStore maps AWS failures', () => {
  it('turns throttling into ServiceUnavailable (a 503 with Retry-After)', async () => {
    dynamo.on(PutItemCommand).rejects(new ProvisionedThroughputExceededException({ message: 'slow down', ...meta }));
    const error = await store.putAccessToken(record).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceUnavailable);
    expect((error as ServiceUnavailable).retryAfter).toBe(1); // rendered as Retry-After: 1 (test/unit/error-tables.test.ts)
  });

  it('turns server errors and timeouts into ServiceUnavailable', async () => {
    const timeout = Object.assign(new Error('socket timed out'), { name: 'TimeoutError' });
    dynamo
      .on(GetItemCommand)
      .rejectsOnce(new InternalServerError({ message: 'boom', ...meta }))
      .rejectsOnce(timeout);
    await expect(store.findToken('s')).rejects.toBeInstanceOf(ServiceUnavailable);
    await expect(store.getServiceClient('c')).rejects.toBeInstanceOf(ServiceUnavailable);
  });

  it('lets a ValidationException through: it is a bug, not an outage', async () => {
    dynamo.on(GetItemCommand).rejects(Object.assign(new Error('bad key'), { name: 'ValidationException' }));
    await expect(store.findToken('s')).rejects.toMatchObject({ name: 'ValidationException' });
  });

  it('makes a failed revocation condition a domain outcome, not an error', async () => {
    dynamo.on(UpdateItemCommand).rejects(new ConditionalCheckFailedException({ message: 'no', ...meta }));
    await expect(store.revokeAccessToken('s', 'h', 'acme', 5)).resolves.toBeUndefined();
  });

  it('writes a token record with its hash and TTL, never the token', async () => {
    dynamo.on(PutItemCommand).resolves({});
    await store.putAccessToken(record);
    const input = dynamo.commandCalls(PutItemCommand)[0]!.args[0].input;
    expect(input.ConditionExpression).toBe('attribute_not_exists(pk)');
    expect(input.Item).toMatchObject({ pk: { S: 'T#s' }, hash: { S: 'h' }, ttl: { N: '2' } });
  });
});
