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
 *   npx tsx bench/sdk-call.ts [--quick] [--rounds=3] [--calls=2000] [--warmup=500]
 *   prints the tables, writes bench/results/sdk-call.json
 */
import { fork } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { Readable } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient, GetItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import {
  brokerDynamoDbClient,
  CLIENT_TUNING,
  type ClientTuning,
  type DynamoDbClientOptions,
} from '../functions/adapters/dynamodb/client.js';
import { createBrokerTable } from '../functions/local/embedded-dynamodb.js';

export interface SdkCallRow {
  call: string;
  /** µs of client CPU per call through `brokerDynamoDbClient`. */
  clientMicros: number;
  /** µs per call through `new DynamoDBClient(...)` with only the broker's options (the factory before issue 13). */
  sdkDefaultsMicros: number;
  /** µs per call of a raw keep-alive HTTP request with the same body and precomputed headers. */
  rawHttpMicros: number;
  /**
   * The SDK's own CPU, no network: the same two clients answered at once by a request handler
   * with the store's recorded answer (what the options above can change; the rest is transport).
   */
  pipeline: { sdkDefaultsMicros: number; clientMicros: number };
  /** µs per call with the factory's tuning steps applied one by one (each on top of the ones before). */
  steps: { step: ClientTuning; micros: number }[];
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

/** dynalite checks the signature header's form, not the signature: one well-formed header, reused. */
const RAW_AUTH = {
  'x-amz-date': '20260101T000000Z',
  authorization:
    'AWS4-HMAC-SHA256 Credential=local/20260101/local/dynamodb/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=0000000000000000000000000000000000000000000000000000000000000000',
};

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
    ...RAW_AUTH,
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

/** A request handler that answers every request at once with `answer` (a recorded store answer). */
function cannedHandler(answer: { headers: Record<string, string>; body: string }) {
  const body = Buffer.from(answer.body);
  return {
    metadata: { handlerProtocol: 'http/1.1' },
    handle: async () => ({ response: { statusCode: 200, headers: { ...answer.headers }, body: Readable.from([body]) } }),
    updateHttpClientConfig: () => {},
    httpHandlerConfigs: () => ({}),
    destroy: () => {},
  };
}

/** The store's answer to one raw request: headers and body, for the canned handler. */
function recordAnswer(endpoint: URL, target: string, input: unknown): Promise<{ headers: Record<string, string>; body: string }> {
  const body = JSON.stringify(input);
  const headers = { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': `DynamoDB_20120810.${target}` };
  return new Promise((resolve, reject) => {
    const req = request(
      { host: endpoint.hostname, port: endpoint.port, path: '/', method: 'POST', headers: { ...headers, ...RAW_AUTH } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            headers: Object.fromEntries(Object.entries(res.headers).map(([k, v]) => [k, String(v)])),
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** dynalite in a child process (this module, forked with `--store`): its CPU is not the client's. */
export async function startStore(): Promise<{ endpoint: string; stop(): void }> {
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
  // The steps before the last one; the last one is the broker's client itself.
  const partial = CLIENT_TUNING.slice(0, -1).map((step, i) => ({
    step,
    client: brokerDynamoDbClient(clientOptions, CLIENT_TUNING.slice(0, i + 1)),
  }));
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    await createBrokerTable(broker, TABLE);
    await broker.send(new PutItemCommand({ TableName: TABLE, Item: item }));

    const endpoint = new URL(store.endpoint);
    const clients: { way: string; client: DynamoDBClient }[] = [
      { way: 'sdkDefaults', client: defaults },
      ...partial.map(({ step, client }) => ({ way: step, client })),
      { way: 'client', client: broker },
    ];
    const kinds = [
      {
        call: 'GetItem (consistent)',
        target: 'GetItem',
        input: getInput,
        command: () => new GetItemCommand(getInput),
        raw: rawCall(endpoint, agent, 'GetItem', getInput),
      },
      {
        call: 'UpdateItem (conditional, ALL_NEW)',
        target: 'UpdateItem',
        input: updateInput,
        command: () => new UpdateItemCommand(updateInput),
        raw: rawCall(endpoint, agent, 'UpdateItem', updateInput),
      },
    ];
    const rows: SdkCallRow[] = [];
    for (const kind of kinds) {
      const ways: { way: string; call: Call }[] = [
        ...clients.map(({ way, client }) => ({ way, call: () => client.send(kind.command() as GetItemCommand) })),
        { way: 'rawHttp', call: kind.raw },
      ];
      for (const { call } of ways) for (let i = 0; i < warmup; i++) await call();
      const samples = new Map<string, number[]>(ways.map(({ way }) => [way, []]));
      // Alternating within each round, so a burst of load from elsewhere falls on all of them alike.
      for (let round = 0; round < rounds; round++) {
        for (const { way, call } of ways) samples.get(way)!.push(await cpuMicrosPerCall(call, calls));
        log(`  ${kind.call} round ${round + 1}: ${ways.map(({ way }) => `${way} ${samples.get(way)!.at(-1)!.toFixed(0)}`).join(', ')} µs`);
      }
      const micros = (way: string) => Math.round(median(samples.get(way)!));
      // The same clients without the network: answered at once with the store's recorded answer.
      const answer = await recordAnswer(endpoint, kind.target, kind.input);
      const offline = [sdkDefaultsClient(clientOptions), brokerDynamoDbClient(clientOptions)].map((client) => {
        (client.config as { requestHandler: unknown }).requestHandler = cannedHandler(answer);
        return client;
      });
      const pipeline = offline.map((client) => ({ call: () => client.send(kind.command() as GetItemCommand), samples: [] as number[] }));
      for (const { call } of pipeline) for (let i = 0; i < warmup; i++) await call();
      for (let round = 0; round < rounds; round++) for (const way of pipeline) way.samples.push(await cpuMicrosPerCall(way.call, calls));
      for (const client of offline) client.destroy();
      rows.push({
        pipeline: {
          sdkDefaultsMicros: Math.round(median(pipeline[0]!.samples)),
          clientMicros: Math.round(median(pipeline[1]!.samples)),
        },
        call: kind.call,
        clientMicros: micros('client'),
        sdkDefaultsMicros: micros('sdkDefaults'),
        rawHttpMicros: micros('rawHttp'),
        steps: CLIENT_TUNING.map((step, i) => ({ step, micros: micros(i === CLIENT_TUNING.length - 1 ? 'client' : step) })),
      });
    }
    return { rounds, callsPerRound: calls, rows };
  } finally {
    for (const { client } of [{ client: broker }, { client: defaults }, ...partial]) client.destroy();
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
    '| call | SDK defaults µs/call | broker client µs/call | after/before | without the network: SDK defaults | broker client | after/before |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...results.rows.map(
      (r) =>
        `| ${r.call} | ${r.sdkDefaultsMicros} | ${r.clientMicros} | ${(r.clientMicros / r.sdkDefaultsMicros).toFixed(2)} | ${r.pipeline.sdkDefaultsMicros} | ${r.pipeline.clientMicros} | ${(r.pipeline.clientMicros / r.pipeline.sdkDefaultsMicros).toFixed(2)} |`,
    ),
    '',
    "Without the network: the request handler answers at once with the store's recorded answer, so this is the SDK's own CPU (middleware, serde, signing, retry bookkeeping), the part its options change; the rest of a call is the HTTP round trip.",
    '',
    'What each step of `brokerDynamoDbClient` bought (µs/call, each step on top of the ones before):',
    '',
    `| step | ${results.rows.map((r) => `${r.call} µs | saved`).join(' | ')} |`,
    `|---|${results.rows.map(() => '---:|---:').join('|')}|`,
    `| SDK defaults | ${results.rows.map((r) => `${r.sdkDefaultsMicros} | –`).join(' | ')} |`,
    ...CLIENT_TUNING.map((step, i) => {
      const cells = results.rows.map((r) => {
        const before = i === 0 ? r.sdkDefaultsMicros : r.steps[i - 1]!.micros;
        const now = r.steps[i]!.micros;
        return `${now} | ${before - now}`;
      });
      return `| + ${step} | ${cells.join(' | ')} |`;
    }),
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
    const flag = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
    const results = await measureSdkCalls({
      rounds: Number(flag('rounds') ?? (quick ? 1 : 3)),
      calls: Number(flag('calls') ?? (quick ? 300 : 2000)),
      warmup: Number(flag('warmup') ?? (quick ? 100 : 500)),
      log: (line) => console.error(line),
    });
    writeFileSync(
      fileURLToPath(new URL('./results/sdk-call.json', import.meta.url)),
      `${JSON.stringify({ date: new Date().toISOString(), node: process.version, ...results }, null, 2)}\n`,
    );
    console.log(formatSdkCalls(results).join('\n'));
  }
}
