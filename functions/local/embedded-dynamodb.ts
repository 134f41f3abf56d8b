import { mkdirSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceNotFoundException,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { brokerDynamoDbClient } from '../adapters/dynamodb/client.js';
import { TABLE_SCHEMA } from '../adapters/table-schema.js';

/**
 * dynalite, the embedded DynamoDB-compatible store of local mode, persisted under `path` (or in
 * memory when `path` is undefined). The broker talks to it through the real DynamoDB client over
 * loopback, so local mode exercises the same adapter code as AWS.
 */
export interface EmbeddedDynamoDb {
  client: DynamoDBClient;
  endpoint: string;
  tableName: string;
  close(): Promise<void>;
}

/** The store under DATA_DIR cannot be used: another process holds it, or it cannot be read. */
export class StoreError extends Error {
  override readonly name = 'StoreError';

  constructor(
    message: string,
    readonly reason: 'in-use' | 'unreadable',
  ) {
    super(message);
  }
}

export async function startEmbeddedDynamoDb(path: string | undefined, tableName = 'token-broker'): Promise<EmbeddedDynamoDb> {
  let heldData = false;
  if (path) {
    mkdirSync(path, { recursive: true, mode: 0o700 });
    heldData = readdirSync(path).length > 0;
    await checkStoreOpens(path);
  }
  const server = dynalite({ path, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = brokerDynamoDbClient({
    endpoint,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 3,
  });
  try {
    await ensureTable(client, tableName, heldData);
  } catch (error) {
    client.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    throw error;
  }
  return {
    client,
    endpoint,
    tableName,
    close: async () => {
      client.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * dynalite opens its LevelDB lazily, and a failed open surfaces as an exception thrown inside its
 * HTTP handler on the first request: an uncaught crash with a stack trace. So the store is opened
 * (with the very LevelDB class dynalite uses) and closed once before dynalite starts, and a held
 * lock or an unreadable store stops the start with a sentence instead.
 */
async function checkStoreOpens(path: string): Promise<void> {
  const fromDynalite = createRequire(createRequire(import.meta.url).resolve('dynalite'));
  const { Level } = fromDynalite('level') as { Level: new (path: string) => { open(): Promise<void>; close(): Promise<void> } };
  const db = new Level(path);
  try {
    await db.open();
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    if (cause?.code === 'LEVEL_LOCKED') {
      throw new StoreError('DATA_DIR is in use by another token-broker process (only one process can open it)', 'in-use');
    }
    throw new StoreError(
      `the store in ${path} cannot be read (${cause?.message ?? (error as Error).message}); move it away to start afresh`,
      'unreadable',
    );
  }
  await db.close();
}

async function ensureTable(client: DynamoDBClient, tableName: string, heldData = false): Promise<void> {
  try {
    await client.send(new DescribeTableCommand({ TableName: tableName }));
    return;
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
  }
  if (heldData) {
    // A store that exists but has no broker table is not ours, or lost it: never start empty over it.
    throw new StoreError(`the store in DATA_DIR holds data but no ${tableName} table; move it away to start afresh`, 'unreadable');
  }
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: TABLE_SCHEMA.partitionKey, AttributeType: 'S' },
        { AttributeName: TABLE_SCHEMA.sortKey, AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: TABLE_SCHEMA.partitionKey, KeyType: 'HASH' },
        { AttributeName: TABLE_SCHEMA.sortKey, KeyType: 'RANGE' },
      ],
    }),
  );
  // Even with createTableMs 0, dynalite reports CREATING for a moment; writes before ACTIVE fail.
  await waitUntilTableExists({ client, maxWaitTime: 10, minDelay: 0.05, maxDelay: 0.2 }, { TableName: tableName });
}
