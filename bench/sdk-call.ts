/**
 * Client CPU of one DynamoDB call (issue 13, item 2): one strongly consistent `GetItem` and one
 * conditional `UpdateItem` shaped like a refresh-token renewal, through the DynamoDB client as the
 * broker configures it (`brokerDynamoDbClient`), through the SDK's defaults (the factory before
 * issue 13), and as a raw keep-alive `node:http` request with the same JSON body.
 *
 * dynalite runs in a child process, so `process.cpuUsage()` of this process is the client's
 * alone. Calls are sequential (one in flight), warmed up; each figure is the median over rounds
 * of (user + system CPU) / calls.
 *
 *   npx tsx bench/sdk-call.ts [--quick]   prints the table, writes bench/results/sdk-call.json
 */
import { fork } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import {
  CreateTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { brokerDynamoDbClient, type DynamoDbClientOptions } from '../functions/adapters/dynamodb/client.js';

export interface SdkCallRow {
  call: string;
  /** µs of client CPU per call through `brokerDynamoDbClient`. */
  clientMicros: number;
  /** µs per call through `new DynamoDBClient(...)` with only the broker's options (the factory before issue 13). */
  sdkDefaultsMicros: number;
  /** µs per call of a raw keep-alive HTTP request with the same body and precomputed headers. */
  rawHttpMicros: number;
}

export interface SdkCallResults {
  rounds: number;
  callsPerRound: number;
  rows: SdkCallRow[];
}

const TABLE = 'sdk-call-bench';
const CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
/** The budget the broker gives each call on AWS (functions/entry-points/aws-sources.ts). */
const AWS_BUDGET = { maxAttempts: 2, connectionTimeout: 500, requestTimeout: 1500 };

/** The factory as it was before issue 13: the SDK's defaults plus the broker's options. */
export function sdkDefaultsClient(options: DynamoDbClientOptions): DynamoDBClient {
  const { connectionTimeout, requestTimeout, ...rest } = options;
  return new DynamoDBClient({ ...rest, requestHandler: { connectionTimeout, requestTimeout } });
}

const key = { pk: { S: 'family#bench' }, sk: { S: 'family' } };
/** A refresh family's item, about the size of the broker's. */
const item = {
  ...key,
  kind: { S: 'session' },
  sessionKind: { S: 'anonymous' },
  tenant: { S: 'acme' },
  clientId: { S: 'storefront-web' },
  accH: { S: 'q2v7o5m0ZlN2sW4cT1xq3d1hV0YkM9y8bC6aE5rPjAs' },
  accExp: { N: '1900000000' },
  refH: { S: 'Jd8oYx2Wc4n1eKq6Vt0bR5mZl3hF7uGs9aPiE2wNkXo' },
  refExp: { N: '1900000000' },
  createdAt: { N: '1800000000' },
  ttl: { N: '1900086400' },
};
const getInput = { TableName: TABLE, Key: key, ConsistentRead: true };
/** Like FamilyStore.renewAccess: a conditional update returning the new item (the condition always holds here). */
const updateInput = {
  TableName: TABLE,
  Key: key,
  UpdateExpression: 'SET paccH = accH, paccExp = accExp, accH = :at, accExp = :atExp',
  ConditionExpression: 'kind = :session AND sessionKind = :anonymous AND tenant = :tenant AND clientId = :client AND refExp > :now',
  ExpressionAttributeValues: {
    ':session': { S: 'session' },
    ':anonymous': { S: 'anonymous' },
    ':tenant': { S: 'acme' },
    ':client': { S: 'storefront-web' },
    ':now': { N: '1800000000' },
    ':at': { S: 'q2v7o5m0ZlN2sW4cT1xq3d1hV0YkM9y8bC6aE5rPjAs' },
    ':atExp': { N: '1900000000' },
  },
  ReturnValues: 'ALL_NEW' as const,
};

type Call = () => Promise<unknown>;

/** Median µs of client CPU per call over `rounds` rounds of `calls` sequential calls, after a warm-up. */
async function cpuMicrosPerCall(call: Call, calls: number): Promise<number> {
  const before = process.cpuUsage();
  for (let i = 0; i < calls; i++) await call();
  const used = process.cpuUsage(before);
  return (used.user + used.system) / calls;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** A raw keep-alive POST of a precomputed DynamoDB JSON body; the answer is read and parsed, as a client would. */
function rawCall(endpoint: URL, agent: Agent, target: string, input: unknown): Call {
  const body = Buffer.from(JSON.stringify(input));
  const headers = {
    'content-type': 'application/x-amz-json-1.0',
    'x-amz-target': `DynamoDB_20120810.${target}`,
    'x-amz-date': '20260101T000000Z',
    // dynalite checks the header's form, not the signature: one well-formed header, reused.
    authorization:
      'AWS4-HMAC-SHA256 Credential=local/20260101/local/dynamodb/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=0000000000000000000000000000000000000000000000000000000000000000',
    'content-length': String(body.length),
  };
  const options = { host: endpoint.hostname, port: endpoint.port, path: '/', method: 'POST', agent, headers };
  return () =>
    new Promise((resolve, reject) => {
      const req = request(options, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { __type?: string };
          if (res.statusCode !== 200) reject(new Error(`${target}: ${res.statusCode} ${parsed.__type}`));
          else resolve(parsed);
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
}

/** dynalite in a child process (this module, forked with `--store`): its CPU is not the client's. */
async function startStore(): Promise<{ endpoint: string; stop(): void }> {
  const child = fork(fileURLToPath(import.meta.url), ['--store'], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (message) => resolve((message as { port: number }).port));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`dynalite child exited with ${code}`)));
  });
  return { endpoint: `http://127.0.0.1:${port}`, stop: () => child.kill() };
}

async function serveStore(): Promise<void> {
  const { default: dynalite } = await import('dynalite');
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  server.listen(0, '127.0.0.1', () => process.send?.({ port: (server.address() as AddressInfo).port }));
  process.on('disconnect', () => process.exit(0));
}

export async function measureSdkCalls(
  options: { rounds?: number; calls?: number; warmup?: number; log?: (line: string) => void } = {},
): Promise<SdkCallResults> {
  const { rounds = 3, calls = 2000, warmup = 500, log = () => {} } = options;
  const store = await startStore();
  const clientOptions: DynamoDbClientOptions = { endpoint: store.endpoint, region: 'local', credentials: CREDENTIALS, ...AWS_BUDGET };
  const broker = brokerDynamoDbClient(clientOptions);
  const defaults = sdkDefaultsClient(clientOptions);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    await broker.send(
      new CreateTableCommand({
        TableName: TABLE,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
      }),
    );
    await waitUntilTableExists({ client: broker, maxWaitTime: 10, minDelay: 0.05, maxDelay: 0.2 }, { TableName: TABLE });
    await broker.send(new PutItemCommand({ TableName: TABLE, Item: item }));

    const endpoint = new URL(store.endpoint);
    const kinds = [
      {
        call: 'GetItem (consistent)',
        client: () => broker.send(new GetItemCommand(getInput)),
        sdkDefaults: () => defaults.send(new GetItemCommand(getInput)),
        rawHttp: rawCall(endpoint, agent, 'GetItem', getInput),
      },
      {
        call: 'UpdateItem (conditional, ALL_NEW)',
        client: () => broker.send(new UpdateItemCommand(updateInput)),
        sdkDefaults: () => defaults.send(new UpdateItemCommand(updateInput)),
        rawHttp: rawCall(endpoint, agent, 'UpdateItem', updateInput),
      },
    ];
    const rows: SdkCallRow[] = [];
    for (const kind of kinds) {
      const ways = ['client', 'sdkDefaults', 'rawHttp'] as const;
      for (const way of ways) for (let i = 0; i < warmup; i++) await kind[way]();
      const samples: Record<(typeof ways)[number], number[]> = { client: [], sdkDefaults: [], rawHttp: [] };
      // Alternating within each round, so a burst of load from elsewhere falls on all three alike.
      for (let round = 0; round < rounds; round++) {
        for (const way of ways) samples[way].push(await cpuMicrosPerCall(kind[way], calls));
        log(`  ${kind.call} round ${round + 1}: ${ways.map((way) => `${way} ${samples[way].at(-1)!.toFixed(0)} µs`).join(', ')}`);
      }
      rows.push({
        call: kind.call,
        clientMicros: Math.round(median(samples.client)),
        sdkDefaultsMicros: Math.round(median(samples.sdkDefaults)),
        rawHttpMicros: Math.round(median(samples.rawHttp)),
      });
    }
    return { rounds, callsPerRound: calls, rows };
  } finally {
    broker.destroy();
    defaults.destroy();
    agent.destroy();
    store.stop();
  }
}

export function formatSdkCalls(results: SdkCallResults): string[] {
  const ratio = (a: number, b: number) => (b > 0 ? (a / b).toFixed(1) : '–');
  return [
    '| call | client µs/call | raw HTTP µs/call | client/raw |',
    '|---|---:|---:|---:|',
    ...results.rows.map((r) => `| ${r.call} | ${r.clientMicros} | ${r.rawHttpMicros} | ${ratio(r.clientMicros, r.rawHttpMicros)} |`),
    '',
    'Before/after: the SDK with its defaults (the factory before issue 13) against `brokerDynamoDbClient` now:',
    '',
    '| call | SDK defaults µs/call | broker client µs/call | after/before |',
    '|---|---:|---:|---:|',
    ...results.rows.map(
      (r) => `| ${r.call} | ${r.sdkDefaultsMicros} | ${r.clientMicros} | ${(r.clientMicros / r.sdkDefaultsMicros).toFixed(2)} |`,
    ),
    '',
    `Client CPU only (dynalite in a child process), sequential calls, median of ${results.rounds} rounds of ${results.callsPerRound} warmed calls.`,
  ];
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (process.argv.includes('--store')) {
    await serveStore();
  } else {
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    const quick = process.argv.includes('--quick');
    const results = await measureSdkCalls({
      rounds: quick ? 1 : 3,
      calls: quick ? 300 : 2000,
      warmup: quick ? 100 : 500,
      log: (line) => console.error(line),
    });
    writeFileSync(
      fileURLToPath(new URL('./results/sdk-call.json', import.meta.url)),
      `${JSON.stringify({ date: new Date().toISOString(), node: process.version, ...results }, null, 2)}\n`,
    );
    console.log(formatSdkCalls(results).join('\n'));
  }
}
