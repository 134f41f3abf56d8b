import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  ProvisionedThroughputExceededException,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { InitializeMiddleware } from '@smithy/types';
import dynalite from 'dynalite';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { brokerDynamoDbClient, type DynamoDbClientOptions } from '../../functions/adapters/dynamodb/client.js';
import { createBrokerTable } from '../../functions/local/embedded-dynamodb.js';

/**
 * What a user of the broker would notice of the DynamoDB client as the factory configures it
 * (cached middleware resolution, middleware dropped, one signer per region): calls still reach
 * the store and come back right, middleware added to a running client still sees every call,
 * throttling is still retried `maxAttempts` times, and a stalled store still times out.
 */

const CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
const TABLE = 'client-test';
const key = { pk: { S: 'family#1' }, sk: { S: 'family' } };

describe('against dynalite', () => {
  let store: ReturnType<typeof dynalite>;
  let client: DynamoDBClient;

  beforeAll(async () => {
    store = dynalite({ createTableMs: 0 });
    await new Promise<void>((resolve) => store.listen(0, '127.0.0.1', () => resolve()));
    const endpoint = `http://127.0.0.1:${(store.address() as AddressInfo).port}`;
    client = brokerDynamoDbClient({ endpoint, region: 'local', credentials: CREDENTIALS, maxAttempts: 2, requestTimeout: 2000 });
    await createBrokerTable(client, TABLE);
  });

  afterAll(async () => {
    client.destroy();
    await new Promise<void>((resolve) => store.close(() => resolve()));
  });

  it('puts, reads and conditionally updates an item, many times over, through the same client', async () => {
    await client.send(new PutItemCommand({ TableName: TABLE, Item: { ...key, gen: { N: '0' }, kind: { S: 'session' } } }));
    // Resolved middleware is reused from the second call on: each call must still carry its own input.
    for (let gen = 0; gen < 5; gen++) {
      const read = await client.send(new GetItemCommand({ TableName: TABLE, Key: key, ConsistentRead: true }));
      expect(read.Item?.gen).toEqual({ N: String(gen) });
      const updated = await client.send(
        new UpdateItemCommand({
          TableName: TABLE,
          Key: key,
          UpdateExpression: 'SET gen = :next',
          ConditionExpression: 'kind = :session AND gen = :gen',
          ExpressionAttributeValues: { ':session': { S: 'session' }, ':gen': { N: String(gen) }, ':next': { N: String(gen + 1) } },
          ReturnValues: 'ALL_NEW',
        }),
      );
      expect(updated.Attributes?.gen).toEqual({ N: String(gen + 1) });
    }
    const stale = client.send(
      new UpdateItemCommand({
        TableName: TABLE,
        Key: key,
        UpdateExpression: 'SET gen = :next',
        ConditionExpression: 'gen = :gen',
        ExpressionAttributeValues: { ':gen': { N: '0' }, ':next': { N: '1' } },
      }),
    );
    await expect(stale).rejects.toBeInstanceOf(ConditionalCheckFailedException);
  });

  it('answers concurrent calls each with its own item', async () => {
    const ids = Array.from({ length: 20 }, (_, i) => `item#${i}`);
    await Promise.all(ids.map((id) => client.send(new PutItemCommand({ TableName: TABLE, Item: { pk: { S: id }, sk: { S: 'x' } } }))));
    const reads = await Promise.all(
      ids.map((id) => client.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: id }, sk: { S: 'x' } }, ConsistentRead: true }))),
    );
    expect(reads.map((r) => r.Item?.pk?.S)).toEqual(ids);
  });

  it('sees every call in middleware added after calls were made, and none once it is removed', async () => {
    await client.send(new GetItemCommand({ TableName: TABLE, Key: key }));
    const seen: string[] = [];
    const count: InitializeMiddleware<any, any> = (next, context) => (args) => {
      seen.push(context.commandName as string);
      return next(args);
    };
    client.middlewareStack.add(count, { step: 'initialize', name: 'countCalls' });
    await client.send(new GetItemCommand({ TableName: TABLE, Key: key }));
    await client.send(new PutItemCommand({ TableName: TABLE, Item: { pk: { S: 'other' }, sk: { S: 'x' } } }));
    expect(seen).toEqual(['GetItemCommand', 'PutItemCommand']);
    client.middlewareStack.remove('countCalls');
    await client.send(new GetItemCommand({ TableName: TABLE, Key: key }));
    expect(seen).toHaveLength(2);
  });
});

describe('against a store that throttles or stalls', () => {
  let server: Server;
  let endpoint: string;
  let requests = 0;
  let answer: (request: IncomingMessage, respond: (status: number, body: unknown) => void) => void = () => {};

  beforeAll(async () => {
    server = createServer((request, response) => {
      requests++;
      request.resume();
      answer(request, (status, body) => {
        response.writeHead(status, { 'content-type': 'application/x-amz-json-1.0' });
        response.end(JSON.stringify(body));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterEach(() => {
    requests = 0;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const clientWith = (options: DynamoDbClientOptions) =>
    brokerDynamoDbClient({ endpoint, region: 'local', credentials: CREDENTIALS, ...options });

  it.each([1, 2, 3])('retries a throttled call until maxAttempts (%i) is spent, then fails with the throttle', async (maxAttempts) => {
    answer = (_request, respond) =>
      respond(400, {
        __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
        message: 'The level of configured provisioned throughput for the table was exceeded.',
      });
    const client = clientWith({ maxAttempts });
    try {
      const call = client.send(new GetItemCommand({ TableName: TABLE, Key: key }));
      await expect(call).rejects.toBeInstanceOf(ProvisionedThroughputExceededException);
      expect(requests).toBe(maxAttempts);
    } finally {
      client.destroy();
    }
  });

  it('signs every attempt with SigV4', async () => {
    const authorizations: string[] = [];
    answer = (request, respond) => {
      authorizations.push(String(request.headers.authorization));
      respond(400, { __type: 'com.amazonaws.dynamodb.v20120810#ThrottlingException', message: 'Rate exceeded' });
    };
    const client = clientWith({ maxAttempts: 2 });
    try {
      await expect(client.send(new GetItemCommand({ TableName: TABLE, Key: key }))).rejects.toThrow();
      expect(authorizations).toHaveLength(2);
      for (const authorization of authorizations) {
        expect(authorization).toMatch(
          /^AWS4-HMAC-SHA256 Credential=local\/\d{8}\/local\/dynamodb\/aws4_request, SignedHeaders=.*host.*, Signature=[0-9a-f]{64}$/,
        );
      }
    } finally {
      client.destroy();
    }
  });

  it('gives up on a store that does not answer within requestTimeout, each attempt', async () => {
    answer = () => {}; // never answers
    const client = clientWith({ maxAttempts: 2, connectionTimeout: 200, requestTimeout: 200 });
    try {
      const call = client.send(new GetItemCommand({ TableName: TABLE, Key: key }));
      await expect(call).rejects.toMatchObject({ name: 'TimeoutError' });
      expect(requests).toBe(2);
    } finally {
      client.destroy();
    }
  });
});
