import { type ChildProcess, fork } from 'node:child_process';
import type { EventEmitter } from 'node:events';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceNotFoundException,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { brokerDynamoDbClient } from '../adapters/dynamodb/client.js';
import { TABLE_SCHEMA } from '../adapters/table-schema.js';

/**
 * dynalite, the embedded DynamoDB-compatible store of local mode, persisted under `path` (or in
 * memory when `path` is undefined). The broker talks to it through the real DynamoDB client over
 * loopback, so local mode exercises the same adapter code as AWS.
 *
 * dynalite runs outside the broker's event loop (functions/local/dynalite-store.mjs): by default
 * in a child process, so its CPU neither delays the handlers nor counts as theirs (the bench's
 * "CPU ms/req broker" is the handlers and the SDK only); `runIn: 'thread'` puts it in a worker
 * thread instead (same process, so process.cpuUsage() includes it).
 */
export interface EmbeddedDynamoDb {
  client: DynamoDBClient;
  endpoint: string;
  tableName: string;
  /** The store process's id; undefined when it runs in a worker thread. */
  pid: number | undefined;
  /** CPU time (µs) the store process has used; undefined in a worker thread, whose CPU is the process's. */
  cpuMicros(): Promise<number | undefined>;
  /**
   * Calls `listener` once if the store stops without `close()` (its process crashed or was
   * killed): from then on every call fails, which the handlers answer with 503.
   */
  onLost(listener: (error: StoreError) => void): void;
  close(): Promise<void>;
}

export interface EmbeddedDynamoDbOptions {
  tableName?: string;
  /** Where dynalite runs: a child process (the default) or a worker thread. */
  runIn?: 'process' | 'thread';
}

/** The store under DATA_DIR cannot be used: another process holds it, it cannot be read, or its process stopped. */
export class StoreError extends Error {
  override readonly name = 'StoreError';

  constructor(
    message: string,
    readonly reason: 'in-use' | 'unreadable' | 'stopped',
  ) {
    super(message);
  }
}

export async function startEmbeddedDynamoDb(path: string | undefined, options: EmbeddedDynamoDbOptions = {}): Promise<EmbeddedDynamoDb> {
  const tableName = options.tableName ?? 'token-broker';
  let heldData = false;
  if (path) {
    mkdirSync(path, { recursive: true, mode: 0o700 });
    heldData = readdirSync(path).length > 0;
    await checkStoreOpens(path);
  }
  const store = await startStore(path, options.runIn ?? 'process');
  const endpoint = `http://127.0.0.1:${store.port}`;
  const client = brokerDynamoDbClient({
    endpoint,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 3,
  });
  const close = async () => {
    client.destroy();
    await store.close();
  };
  try {
    await ensureTable(client, tableName, heldData);
  } catch (error) {
    await close();
    throw error;
  }
  return { client, endpoint, tableName, pid: store.pid, cpuMicros: store.cpuMicros, onLost: store.onLost, close };
}

/** The store's entry, beside this module (or beside the bench's bundle, which copies it there). */
export const STORE_ENTRY = fileURLToPath(new URL('./dynalite-store.mjs', import.meta.url));

type StoreMessage = { type: 'listening'; port: number } | { type: 'error'; message: string } | { type: 'cpu'; micros: number };

interface RunningStore {
  port: number;
  pid: number | undefined;
  cpuMicros(): Promise<number | undefined>;
  onLost(listener: (error: StoreError) => void): void;
  close(): Promise<void>;
}

/** Starts dynalite-store.mjs in a child process or a worker thread and waits for its port. */
async function startStore(path: string | undefined, runIn: 'process' | 'thread'): Promise<RunningStore> {
  if (!existsSync(STORE_ENTRY)) throw new Error(`the embedded store's entry ${STORE_ENTRY} is missing`);
  let child: ChildProcess | undefined;
  let worker: Worker | undefined;
  if (runIn === 'thread') {
    worker = new Worker(STORE_ENTRY, { workerData: { path } });
  } else {
    // No tsx loader or inspector flags: the entry is plain JavaScript. stdout is the broker's
    // (dynalite writes nothing there); a crash's stack goes to the broker's stderr.
    child = fork(STORE_ENTRY, [JSON.stringify({ path })], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  }
  const send = (message: object) => (worker ? worker.postMessage(message) : child!.connected && child!.send(message));
  // Both are event emitters with the same 'message', 'error' and 'exit' events.
  const emitter: EventEmitter = worker ?? child!;
  const on = emitter.on.bind(emitter);
  const off = emitter.off.bind(emitter);

  let exited = false;
  let closing = false;
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    on('exit', (code: number | null, signal: NodeJS.Signals | null = null) => {
      exited = true;
      resolve({ code, signal });
    }),
  );

  const port = await new Promise<number>((resolve, reject) => {
    const onMessage = (message: StoreMessage) => {
      if (message.type === 'listening') settle(() => resolve(message.port));
      else if (message.type === 'error') settle(() => reject(new Error(`the embedded store did not start: ${message.message}`)));
    };
    const onError = (error: Error) => settle(() => reject(error));
    const onExit = (code: number | null) => settle(() => reject(new Error(`the embedded store exited with ${code} before it listened`)));
    const settle = (then: () => void) => {
      off('message', onMessage);
      off('error', onError);
      off('exit', onExit);
      then();
    };
    on('message', onMessage);
    on('error', onError);
    on('exit', onExit);
  });

  const lostListeners: ((error: StoreError) => void)[] = [];
  void exit.then(({ code, signal }) => {
    if (closing) return;
    const how = signal ? `killed by ${signal}` : `exit code ${code}`;
    const error = new StoreError(`the embedded store's ${worker ? 'thread' : 'process'} stopped (${how})`, 'stopped');
    for (const listener of lostListeners) listener(error);
  });
  // A worker's uncaught error is also an exit; without a listener it would crash the broker.
  on('error', () => {});

  return {
    port,
    pid: child?.pid,
    cpuMicros: async () => {
      if (worker || exited) return undefined;
      return new Promise<number>((resolve) => {
        const onMessage = (message: StoreMessage) => {
          if (message.type !== 'cpu') return;
          off('message', onMessage);
          resolve(message.micros);
        };
        on('message', onMessage);
        send({ type: 'cpu' });
      });
    },
    onLost: (listener) => {
      lostListeners.push(listener);
    },
    close: async () => {
      closing = true;
      if (exited) return;
      send({ type: 'close' });
      // dynalite's own close waits for requests in flight (up to 30 s); a store that does not
      // stop promptly is ended, so close() never leaves a process behind.
      const timer = setTimeout(() => (worker ? void worker.terminate() : child!.kill('SIGKILL')), 5_000);
      await exit;
      clearTimeout(timer);
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
  await createBrokerTable(client, tableName);
}

/** Creates the broker's table (TABLE_SCHEMA) on a DynamoDB-compatible store and waits until it is active. */
export async function createBrokerTable(client: DynamoDBClient, tableName: string): Promise<void> {
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
