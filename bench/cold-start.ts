/**
 * Cold-start import cost of every Lambda bundle, exactly as `cdk synth` builds it, against a
 * floor: a bundle holding only the bare AWS SDK clients the function uses, built with the same
 * esbuild options. Each figure is the median time to `import()` the bundle in a fresh Node
 * process, with the environment the function gets on Lambda. Runnable alone:
 *
 *   npx tsx bench/cold-start.ts [--runs 10] [--only signup,fallback]
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { FAIL_SYNTH_ON_VALIDATION_ERRORS_CONTEXT } from 'aws-cdk-lib/cx-api';
import { build } from 'esbuild';
import { buildApp } from '../lib/app.js';
import { BUNDLE_TARGET, type BrokerFunctionName, ESM_REQUIRE_BANNER } from '../lib/constructs/broker-functions.js';
import type { ColdStartRow } from './results-types.js';

const run = promisify(execFile);
const projectRoot = fileURLToPath(new URL('../', import.meta.url));

type FloorClient = 'dynamodb' | 'secretsManager' | 'ses';

/**
 * The SDK clients each function constructs at cold start (functions/entry-points/aws-sources.ts).
 * Typed by `BrokerFunctionName`, so a function added to the stack does not compile until it has a
 * floor here; `checkFloor` also holds each floor to the function's template environment.
 */
const FLOOR_CLIENTS: Record<BrokerFunctionName, readonly FloorClient[]> = {
  oauth: ['dynamodb', 'secretsManager'],
  warmup: ['dynamodb', 'secretsManager'],
  storefront: ['dynamodb', 'secretsManager'],
  discovery: ['dynamodb'],
  // The sign-in page reads no secret: a code is a random token stored as a hash.
  authorize: ['dynamodb'],
  // The saas_token's signing key and the identity providers' secrets.
  federation: ['dynamodb', 'secretsManager'],
  // The saas_token's signing key (the confirmation link logs in), and the SES v2 client that sends
  // the confirmation mail (awsMail in functions/entry-points/signup.ts).
  signup: ['dynamodb', 'secretsManager', 'ses'],
  fallback: [],
};

/** The environment variables that make a function construct each client (aws-sources.ts). */
const CLIENT_VARIABLES: Record<Exclude<FloorClient, 'ses'>, readonly string[]> = {
  dynamodb: ['TABLE_NAME'],
  secretsManager: ['CLIENT_SECRETS_ID', 'KEYS_SECRET_ID', 'SIGNING_KEYS_SECRET_ID', 'IDENTITY_PROVIDER_SECRETS_ID'],
};

/**
 * The SES v2 client needs no variable: an entry point that calls `awsMail()` constructs it at cold
 * start whatever its environment. `checkFloor` reads the entry's source for that call.
 */
const SES_CONSTRUCTOR_CALL = /\bawsMail\(/;

/** The floors get the banner the real bundles get; each real bundle is checked to start with it. */
const BANNER = ESM_REQUIRE_BANNER;

/** Set on top of each function's own template environment; nothing here reaches the network. */
const LAMBDA_LIKE_ENV: Record<string, string> = {
  AWS_REGION: 'eu-central-1',
  AWS_DEFAULT_REGION: 'eu-central-1',
  AWS_ACCESS_KEY_ID: 'AKIDCOLDSTARTBENCH00',
  AWS_SECRET_ACCESS_KEY: 'cold-start-bench-dummy-secret',
  AWS_SESSION_TOKEN: 'cold-start-bench-dummy-session',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};

/** Dummies for the template's references (table name, secret ARNs), by variable name. */
const DUMMY_VALUES: Record<string, string> = {
  TABLE_NAME: 'TokenBroker-StorageTable-COLDSTART',
  // Validated at cold start (functions/config.ts): an absolute URL, as the stack's API URL is.
  ISSUER: 'https://coldstart.execute-api.eu-central-1.amazonaws.com',
  CLIENT_SECRETS_ID: 'arn:aws:secretsmanager:eu-central-1:111111111111:secret:client-secrets-AbCdEf',
  KEYS_SECRET_ID: 'arn:aws:secretsmanager:eu-central-1:111111111111:secret:keys-AbCdEf',
  SIGNING_KEYS_SECRET_ID: 'arn:aws:secretsmanager:eu-central-1:111111111111:secret:signing-keys-AbCdEf',
};

interface Bundle {
  fn: string;
  file: string;
  env: Record<string, string>;
}

/** Synthesizes the app into `outdir` and returns each function's `index.mjs` and environment. */
function synthBundles(outdir: string): Bundle[] {
  const cdkJson = JSON.parse(readFileSync(join(projectRoot, 'cdk.json'), 'utf8')) as { context?: Record<string, unknown> };
  // The same feature flags as `cdk synth`; cdk-nag findings are the CDK tests' business, not this one's.
  const context = { ...cdkJson.context, [FAIL_SYNTH_ON_VALIDATION_ERRORS_CONTEXT]: false };
  const { app, stack } = buildApp({ outdir, context });
  const template = app.synth().getStackByName(stack.stackName).template as {
    Resources: Record<string, { Type: string; Properties: Record<string, any> }>;
  };
  // Every Lambda function of the template is measured: one that is not among the stack's broker
  // functions (a CDK-provided handler, say) would otherwise go unmeasured without a word.
  const listed = new Set(Object.values(stack.functions).map((construct) => stack.getLogicalId(construct.node.defaultChild as never)));
  const unlisted = Object.entries(template.Resources)
    .filter(([id, resource]) => resource.Type === 'AWS::Lambda::Function' && !listed.has(id))
    .map(([id]) => id);
  if (unlisted.length > 0) throw new Error(`Lambda functions the cold-start bench does not measure: ${unlisted.join(', ')}`);
  return Object.entries(stack.functions).map(([fn, construct]) => {
    const logicalId = stack.getLogicalId(construct.node.defaultChild as never);
    const resource = template.Resources[logicalId];
    if (resource?.Type !== 'AWS::Lambda::Function') throw new Error(`no AWS::Lambda::Function ${logicalId} for ${fn}`);
    const s3Key = resource.Properties.Code?.S3Key;
    const hash = typeof s3Key === 'string' ? /^([0-9a-f]{64})\.zip$/.exec(s3Key)?.[1] : undefined;
    if (!hash) throw new Error(`${fn}: unexpected Code.S3Key ${JSON.stringify(s3Key)}`);
    const file = join(outdir, `asset.${hash}`, 'index.mjs');
    if (!readFileSync(file, 'utf8').startsWith(BANNER)) {
      throw new Error(
        `${fn}: the bundle does not start with the expected banner; check ESM_REQUIRE_BANNER in lib/constructs/broker-functions.ts`,
      );
    }
    const variables = (resource.Properties.Environment?.Variables ?? {}) as Record<string, unknown>;
    checkFloor(fn, Object.keys(variables), entrySource(fn));
    const env: Record<string, string> = {};
    for (const [name, value] of Object.entries(variables)) {
      env[name] = typeof value === 'string' ? value : (DUMMY_VALUES[name] ?? `cold-start-dummy-${name.toLowerCase()}`);
    }
    return { fn, file, env };
  });
}

/** The function's entry point (lib/constructs/broker-functions.ts names each `functions/entry-points/<fn>.ts`). */
function entrySource(fn: string): string {
  return readFileSync(join(projectRoot, 'functions', 'entry-points', `${fn}.ts`), 'utf8');
}

/**
 * A floor must hold exactly the clients the function's environment makes it construct: a floor
 * with a client too many would flatter the bundle's ratio, one too few would wrong it.
 */
function checkFloor(fn: string, variables: readonly string[], source: string): void {
  const clients = (FLOOR_CLIENTS as Record<string, readonly FloorClient[] | undefined>)[fn];
  if (!clients) throw new Error(`no floor defined for function "${fn}"; add it to FLOOR_CLIENTS`);
  if (SES_CONSTRUCTOR_CALL.test(source) !== clients.includes('ses')) {
    throw new Error(
      SES_CONSTRUCTOR_CALL.test(source)
        ? `${fn}: its entry point calls awsMail() (an SES v2 client), its floor in FLOOR_CLIENTS has none`
        : `${fn}: its entry point calls no awsMail(), but its floor in FLOOR_CLIENTS has an ses client`,
    );
  }
  for (const [client, names] of Object.entries(CLIENT_VARIABLES) as [FloorClient, readonly string[]][]) {
    const used = names.some((name) => variables.includes(name));
    if (used !== clients.includes(client)) {
      throw new Error(
        `${fn}: its environment (${variables.join(', ')}) ` +
          (used
            ? `makes it construct a ${client} client, its floor in FLOOR_CLIENTS has none`
            : `constructs no ${client} client, but its floor in FLOOR_CLIENTS has one`),
      );
    }
  }
}

/** The floor for one function: its SDK clients, each constructed once, bundled as CDK bundles. */
async function buildFloor(fn: string, dir: string): Promise<string> {
  const clients = (FLOOR_CLIENTS as Record<string, readonly FloorClient[] | undefined>)[fn];
  if (!clients) throw new Error(`no floor defined for function "${fn}"; add it to FLOOR_CLIENTS`);
  const lines: string[] = [];
  if (clients.includes('dynamodb')) {
    lines.push("import { DynamoDBClient } from '@aws-sdk/client-dynamodb';", 'export const dynamo = new DynamoDBClient({});');
  }
  if (clients.includes('secretsManager')) {
    lines.push(
      "import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';",
      'export const secretsManager = new SecretsManagerClient({});',
    );
  }
  if (clients.includes('ses')) {
    lines.push("import { SESv2Client } from '@aws-sdk/client-sesv2';", 'export const ses = new SESv2Client({});');
  }
  const outfile = join(dir, `floor-${fn}`, 'index.mjs');
  await build({
    stdin: { contents: lines.join('\n'), resolveDir: projectRoot, sourcefile: `floor-${fn}.mjs`, loader: 'js' },
    // The options NodejsFunction passes to esbuild for lib/constructs/broker-functions.ts.
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: BUNDLE_TARGET,
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    banner: { js: BANNER },
    mainFields: ['module', 'main'],
    outfile,
    logLevel: 'silent',
  });
  return outfile;
}

const RUNNER = `import { pathToFileURL } from 'node:url';
const url = pathToFileURL(process.argv[2]).href;
const before = performance.now();
await import(url);
const after = performance.now();
process.stdout.write(JSON.stringify({ ms: after - before }));
`;

/** One fresh Node process: the time `await import(bundle)` takes, in milliseconds. */
async function importOnce(runner: string, file: string, env: Record<string, string>): Promise<number> {
  const { stdout } = await run(process.execPath, [runner, file], {
    // Only what Lambda would set: no inherited NODE_OPTIONS (tsx's loader) or AWS profile.
    env: { PATH: process.env.PATH ?? '', ...env, ...LAMBDA_LIKE_ENV },
    cwd: tmpdir(),
    timeout: 30_000,
  });
  const { ms } = JSON.parse(stdout) as { ms: number };
  if (!Number.isFinite(ms)) throw new Error(`bad runner output for ${file}: ${stdout}`);
  return ms;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

const kb = (file: string) => Math.round((statSync(file).size / 1024) * 10) / 10;
const round2 = (value: number) => Math.round(value * 100) / 100;

/**
 * `only`: measure these functions alone (every bundle is still synthesized and its floor checked),
 * for a quick look at one row without the whole table's minutes of fresh processes.
 */
export async function measureColdStart(options: { runs?: number; only?: readonly string[] } = {}): Promise<ColdStartRow[]> {
  const runs = options.runs ?? 10;
  if (!(Number.isInteger(runs) && runs > 0)) throw new Error(`runs must be a positive integer, got ${runs}`);
  const dir = mkdtempSync(join(tmpdir(), 'cold-start-'));
  try {
    const all = synthBundles(join(dir, 'cdk.out'));
    const unknown = (options.only ?? []).filter((fn) => !all.some((b) => b.fn === fn));
    if (unknown.length > 0) throw new Error(`no such function: ${unknown.join(', ')}`);
    const bundles = options.only ? all.filter((b) => options.only!.includes(b.fn)) : all;
    const runner = join(dir, 'runner.mjs');
    writeFileSync(runner, RUNNER);
    mkdirSync(join(dir, 'floors'));
    const measured = [];
    for (const bundle of bundles) {
      measured.push({
        ...bundle,
        floor: await buildFloor(bundle.fn, join(dir, 'floors')),
        times: [] as number[],
        floorTimes: [] as number[],
      });
    }
    // Interleaved: every run visits every function, and alternates which of the pair goes first,
    // so background noise and ordering effects fall on bundle and floor alike.
    for (let i = 0; i < runs; i++) {
      for (const m of measured) {
        if (i % 2 === 0) {
          m.times.push(await importOnce(runner, m.file, m.env));
          m.floorTimes.push(await importOnce(runner, m.floor, m.env));
        } else {
          m.floorTimes.push(await importOnce(runner, m.floor, m.env));
          m.times.push(await importOnce(runner, m.file, m.env));
        }
      }
    }
    return measured.map((m) => {
      const importMedianMs = median(m.times);
      const floorImportMedianMs = median(m.floorTimes);
      return {
        fn: m.fn,
        bundleKB: kb(m.file),
        importMedianMs: round2(importMedianMs),
        floorKB: kb(m.floor),
        floorImportMedianMs: round2(floorImportMedianMs),
        ratio: round2(importMedianMs / floorImportMedianMs),
      };
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Markdown table lines for the results file. */
export function formatColdStart(rows: readonly ColdStartRow[]): string[] {
  return [
    '| function | bundle KB | import median ms | floor KB | floor import median ms | ratio (target ≤ 1.25) |',
    '|---|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.fn} | ${r.bundleKB.toFixed(1)} | ${r.importMedianMs.toFixed(2)} | ${r.floorKB.toFixed(1)} | ` +
        `${r.floorImportMedianMs.toFixed(2)} | ${r.ratio.toFixed(2)} ${r.ratio <= 1.25 ? '✓' : '✗'} |`,
    ),
    ...(rows.some((r) => r.fn === 'fallback') ? ['', FALLBACK_NOTE] : []),
  ];
}

/** Why fallback's ratio is not held to the target. */
const FALLBACK_NOTE =
  "fallback constructs no SDK client, so its floor is an empty module (the banner only) and its ratio measures its 8 KB against Node's bare import cost: a few ms, not a regression to chase.";

if (import.meta.url === `file://${process.argv[1]}`) {
  const runsFlag = process.argv.indexOf('--runs');
  const runs = runsFlag > 0 ? Number(process.argv[runsFlag + 1]) : 10;
  const onlyFlag = process.argv.indexOf('--only');
  const only = onlyFlag > 0 ? (process.argv[onlyFlag + 1] ?? '').split(',').filter(Boolean) : undefined;
  const started = performance.now();
  const rows = await measureColdStart({ runs, ...(only ? { only } : {}) });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(
    `\nCold start: median of ${runs} fresh-process imports per bundle, Node ${process.version} ` +
      `(${process.arch}); Lambda runs Node 22 on arm64. Took ${seconds} s.\n`,
  );
  for (const line of formatColdStart(rows)) console.log(line);
}
