/**
 * Applies a seed file (shared/spec/operating.md) to local mode's store or to a deployed stack.
 *
 *   npm run seed -- <seed.json> --local [--data-dir .data] [--rotate-signing-key]
 *   npm run seed -- <seed.json> --stack TokenBroker [--region eu-central-1] [--rotate-signing-key]
 *
 * The stack's outputs name the table and the secrets; the caller's AWS credentials are used. The
 * seed is validated in full before anything is written. A signing key is created when there is
 * none; --rotate-signing-key replaces it (the old public key stays published until the tokens
 * it signed have expired).
 *
 * Incident response (operating.md), instead of a seed file, on the same --local / --stack target:
 *
 *   npm run seed -- --revoke-previous-secret <client id> (--local [--data-dir D] | --stack NAME [--region R])
 *   npm run seed -- --revoke-client-tokens <client id>   (--local [--data-dir D] | --stack NAME [--region R])
 *   npm run seed -- --end-customer-sessions <tenant> <email> (--local [--data-dir D] | --stack NAME [--region R])
 *
 * Each takes effect within the broker's 60 s directory and secrets caches and is audited.
 *
 * A seed's customers are hashed several at once (functions/seed/apply.ts hashConcurrency: the
 * cores, at most UV_THREADPOOL_SIZE, 4 unless set) and their progress (count, rate, time left)
 * goes to stderr: redrawn in place on a terminal, plain lines in CI or when stderr is no terminal.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { audit, withRequestContext } from '../functions/audit.js';
import { DEFAULTS } from '../functions/config.js';
import { endRotationOverlap } from '../functions/domain/client-secrets.js';
import type { ScryptParams } from '../functions/domain/passwords.js';
import { isValidTenant } from '../functions/domain/tenant.js';
import { jsonLogger, type Logger } from '../functions/log.js';
import { systemClock, type Clock, type DirectoryStore } from '../functions/ports.js';
import { endCustomerSessions } from '../functions/use-cases/customer-sessions.js';
import { startEmbeddedDynamoDb } from '../functions/local/embedded-dynamodb.js';
import { LocalSecretsFile } from '../functions/local/secrets-file.js';
import {
  applySeed,
  type ApplySeedOptions,
  type ClientSecretsWriter,
  type PasswordHashing,
  type ProviderSecretsWriter,
  type SeedReport,
} from '../functions/seed/apply.js';
import { isInteractive, progressReporter, type ProgressReporter } from '../functions/seed/progress.js';
import { parseSeed, type Seed } from '../functions/seed/schema.js';
import {
  SecretsManagerProviderSecretsWriter,
  SecretsManagerSigningKeyWriter,
  SecretsManagerWriter,
} from '../functions/seed/secrets-manager-writer.js';
import { seedTarget, storesOf, type Stores, type TableSource } from '../functions/wiring.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const TARGET = '(--local [--data-dir DIR] | --stack NAME [--region REGION])';
const USAGE = [
  `usage: seed <seed.json> ${TARGET} [--rotate-signing-key]`,
  // --- incident response: client secrets and tokens (clients) ---
  `       seed --revoke-previous-secret <client id> ${TARGET}`,
  `       seed --revoke-client-tokens <client id> ${TARGET}`,
  // --- end incident response: client secrets and tokens ---
  `       seed --end-customer-sessions <tenant> <email> ${TARGET}`,
  '       seed --help',
].join('\n');

/** What tests replace: the clock (the broker's TestClock) and where audit lines go. */
export interface CliContext {
  clock?: Clock;
  log?: Logger;
  /** Where progress (and, unless `log` is given, audit lines) go: stderr. Redrawn in place only if a TTY outside CI. */
  stderr?: { write(text: string): unknown; isTTY?: boolean };
  /** Milliseconds for the progress rate (performance.now). */
  now?: () => number;
  /** scrypt's cost for new hashes (tests: TEST_SCRYPT); production's by default. */
  scrypt?: ScryptParams;
  /** Replaces scrypt (tests count the hashes in flight). */
  passwords?: PasswordHashing;
  /** Customers applied at once; hashConcurrency() by default. */
  concurrency?: number;
}

export async function main(argv: string[], context: CliContext = {}): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      local: { type: 'boolean', default: false },
      'data-dir': { type: 'string', default: process.env.DATA_DIR || DEFAULTS.local.dataDir },
      stack: { type: 'string' },
      region: { type: 'string' },
      'rotate-signing-key': { type: 'boolean', default: false },
      // --- incident response: client secrets and tokens (clients) ---
      'revoke-previous-secret': { type: 'string' },
      'revoke-client-tokens': { type: 'string' },
      // --- end incident response: client secrets and tokens ---
      'end-customer-sessions': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const clock = context.clock ?? systemClock;
  const stderr = context.stderr ?? process.stderr;
  // Set while a seed's customers are applied: audit lines then go through it, so a progress line
  // redrawn in place on a terminal is cleared first and never mixed into one.
  let progress: ProgressReporter | undefined;
  // Audit lines go to stderr as JSON, so stdout stays the human summary.
  const log =
    context.log ??
    jsonLogger((line) => {
      if (progress) progress.print(line);
      else stderr.write(`${line}\n`);
    });
  if (values.local === (values.stack !== undefined)) {
    console.error(USAGE);
    return 2;
  }
  const target: TargetOptions = values.local
    ? { local: true, dataDir: values['data-dir']! }
    : { local: false, stack: values.stack!, region: values.region };

  // --- incident response: client secrets and tokens (clients) ---
  const revokePrevious = values['revoke-previous-secret'];
  const revokeTokens = values['revoke-client-tokens'];
  if (revokePrevious !== undefined || revokeTokens !== undefined) {
    if (positionals.length > 0 || (revokePrevious !== undefined && revokeTokens !== undefined) || values['rotate-signing-key']) {
      console.error(USAGE);
      return 2;
    }
    return revokePrevious !== undefined
      ? revokePreviousSecret(revokePrevious, target, clock, log)
      : revokeClientTokens(revokeTokens!, target, clock, log);
  }
  // --- end incident response: client secrets and tokens ---
  if (values['end-customer-sessions']) return endSessionsCommand(positionals, target, clock, log);

  const file = positionals[0];
  if (!file || positionals.length > 1) {
    console.error(USAGE);
    return 2;
  }
  const seed = parseSeed(readFileSync(file, 'utf8'), file);
  const output = { write: (text: string) => void stderr.write(text), interactive: isInteractive(stderr, process.env) };
  const options: SeedOptions = {
    now: clock(),
    rotateSigningKey: values['rotate-signing-key']!,
    log,
    scrypt: context.scrypt,
    passwords: context.passwords,
    concurrency: context.concurrency,
    // Customers are what takes long (scrypt, ~0.4 s each): count, rate and time left on stderr.
    progress: (done, total) => {
      progress ??= progressReporter(total, output, { now: context.now ?? (() => performance.now()), prefix: 'seed: ' });
      progress.update(done);
    },
  };
  let report: SeedReport;
  try {
    report = target.local ? await seedLocal(seed, target.dataDir, options) : await seedStack(seed, target.stack, target.region, options);
  } finally {
    progress?.finish();
    progress = undefined;
  }
  console.log(
    `seeded tenants: ${report.tenants.join(', ') || '(none)'}; service clients: ${report.serviceClients.join(', ') || '(none)'}; ` +
      (report.appClients.length > 0 ? `app clients: ${report.appClients.join(', ')}; ` : '') +
      `customers: ${report.customers}; ` +
      (report.removed.length > 0 ? `removed: ${report.removed.join(', ')}; ` : '') +
      (report.customersRemoved.length > 0 ? `customers removed: ${report.customersRemoved.join(', ')}; ` : '') +
      (report.sessionsEnded > 0 ? `customer sessions ended: ${report.sessionsEnded}; ` : '') +
      secretsSummary(report) +
      `; signing key ${report.signingKey}`,
  );
  return 0;
}

function secretsSummary(report: SeedReport): string {
  if (!report.secretsRotated) return 'client secrets unchanged';
  if (report.rotatedSecrets.length === 0) return 'client secrets updated';
  const rotations = report.rotatedSecrets.map(
    ({ clientId, previousUntil }) => `${clientId} until ${new Date(previousUntil * 1000).toISOString()}`,
  );
  return `client secrets updated; previous secrets accepted: ${rotations.join(', ')}`;
}

type TargetOptions = { local: true; dataDir: string } | { local: false; stack: string; region: string | undefined };

// --- incident response: client secrets and tokens (clients) ---

/** The stores (as functions/wiring.ts builds them) and the client secrets of a local DATA_DIR or a deployed stack. */
interface IncidentTarget extends Stores {
  clientSecrets: ClientSecretsWriter;
  close(): Promise<void>;
}

async function openIncidentTarget(target: TargetOptions): Promise<IncidentTarget> {
  if (target.local) {
    const secretsPath = join(target.dataDir, 'secrets.json');
    // An incident command never creates a fresh, empty store: it acts on the broker's own.
    if (!existsSync(secretsPath)) throw new Error(`${target.dataDir} holds no local broker data (no secrets.json)`);
    const dynamo = await startEmbeddedDynamoDb(join(target.dataDir, 'dynamodb'));
    return {
      ...storesOf({ client: dynamo.client, tableName: dynamo.tableName }),
      clientSecrets: new LocalSecretsFile(secretsPath),
      close: () => dynamo.close(),
    };
  }
  const outputs = await stackOutputs(target.stack, target.region);
  const config = target.region ? { region: target.region } : {};
  return {
    ...storesOf(stackTable(outputs.tableName, config)),
    clientSecrets: new SecretsManagerWriter(new SecretsManagerClient(config), outputs.clientSecretsArn),
    close: async () => {},
  };
}

/** Ends the client's rotation overlap now: its previous secret is refused from the next refresh. */
async function revokePreviousSecret(clientId: string, options: TargetOptions, clock: Clock, log: Logger): Promise<number> {
  const target = await openIncidentTarget(options);
  try {
    const outcome = endRotationOverlap(await target.clientSecrets.currentClientSecrets(), clientId);
    if (!outcome) {
      console.error(`no client secret for ${clientId}`);
      return 1;
    }
    if (!outcome.ended) {
      console.log(`${clientId} has no previous secret; nothing changed`);
      return 0;
    }
    await target.clientSecrets.putClientSecrets(outcome.document);
    // A confidential app client's secret is in the same document (contract section 8).
    const client = (await target.directory.getServiceClient(clientId)) ?? (await target.directory.getAppClient(clientId));
    audit(log, 'secret_rotated', { tenant: client?.tenant, clientId, change: 'previous_revoked', at: clock() });
    console.log(`previous secret of ${clientId} revoked; the broker refuses it within 60 s`);
    return 0;
  } finally {
    await target.close();
  }
}

/**
 * Every token issued to the client so far becomes inactive: a service client's (its cached
 * service tokens included), an app client's (the access and refresh tokens of its code flows),
 * or, for a storefront client, every session it started (anonymous and the customer sessions
 * carried over from them). Service and app client ids are unique across tenants and kinds.
 */
async function revokeClientTokens(clientId: string, options: TargetOptions, clock: Clock, log: Logger): Promise<number> {
  const target = await openIncidentTarget(options);
  try {
    const now = clock();
    const revoked =
      (await revokeServiceClient(target.directory, clientId, now)) ??
      (await revokeAppClient(target.directory, clientId, now)) ??
      (await revokeStorefrontClient(target.directory, clientId, now));
    if (!revoked) {
      console.error(`no service, app or storefront client ${clientId}`);
      return 1;
    }
    audit(log, 'client_tokens_revoked', { tenant: revoked.tenant, clientId, kind: revoked.kind, tokensRevokedAt: now });
    console.log(`tokens of ${clientId} issued until ${new Date(now * 1000).toISOString()} revoked; the broker refuses them within 60 s`);
    return 0;
  } finally {
    await target.close();
  }
}

type RevokedClient = { tenant: string; kind: 'service' | 'app' | 'storefront' };

async function revokeServiceClient(directory: DirectoryStore, clientId: string, now: number): Promise<RevokedClient | undefined> {
  const client = await directory.revokeServiceClientTokens(clientId, now);
  return client && { tenant: client.tenant, kind: 'service' };
}

/** An app client's access and refresh tokens from the code flow (contract section 8), as for a service client. */
async function revokeAppClient(directory: DirectoryStore, clientId: string, now: number): Promise<RevokedClient | undefined> {
  const client = await directory.revokeAppClientTokens(clientId, now);
  return client && { tenant: client.tenant, kind: 'app' };
}

async function revokeStorefrontClient(directory: DirectoryStore, clientId: string, now: number): Promise<RevokedClient | undefined> {
  for (const tenant of await directory.listTenantIds()) {
    if (!(await directory.getTenant(tenant))?.storefrontClients.includes(clientId)) continue;
    if (await directory.revokeStorefrontClientTokens(tenant, clientId, now)) return { tenant, kind: 'storefront' };
  }
  return undefined;
}

// --- end incident response: client secrets and tokens ---

// --- incident response: end every session of a customer (operating.md) ---

/**
 * `--end-customer-sessions <tenant> <email>`: revokes every session family in the customer's
 * session index, at once for refresh, validation and introspection, and logs
 * customer_sessions_ended. It does not change the password: a holder of the password can log in
 * again, so change it in the seed (which ends the sessions too) when the password is what leaked.
 */
async function endSessionsCommand(positionals: string[], options: TargetOptions, clock: Clock, log: Logger): Promise<number> {
  const [tenant, rawEmail] = positionals;
  if (positionals.length !== 2 || !tenant || !rawEmail) {
    console.error(USAGE);
    return 2;
  }
  if (!isValidTenant(tenant)) {
    console.error('not a tenant: must match ^[a-z][a-z0-9]+$ and be 3 to 16 characters');
    return 2;
  }
  const email = rawEmail.trim().toLowerCase();
  const target = await openIncidentTarget(options);
  try {
    const ended = await endCustomerSessions(
      { sessions: target.sessions, authorizations: target.authorizations, clock, log },
      tenant,
      email,
      'incident_response',
    );
    console.log(`ended ${ended} session(s) of ${email} in tenant ${tenant}`);
    return 0;
  } finally {
    await target.close();
  }
}

// --- end incident response: end every session of a customer ---

type SeedOptions = ApplySeedOptions;

async function seedLocal(seed: Seed, dataDir: string, options: SeedOptions): Promise<SeedReport> {
  const dynamo = await startEmbeddedDynamoDb(join(dataDir, 'dynamodb'));
  try {
    const secrets = new LocalSecretsFile(join(dataDir, 'secrets.json'));
    secrets.ensure();
    const stores = storesOf({ client: dynamo.client, tableName: dynamo.tableName });
    return await applySeed(seed, seedTarget(stores, { clientSecrets: secrets, signingKeys: secrets, providerSecrets: secrets }), options);
  } finally {
    await dynamo.close();
  }
}

/** The table and the secrets a token-broker stack names in its outputs. */
async function stackOutputs(stackName: string, region: string | undefined) {
  const config = region ? { region } : {};
  const stacks = await new CloudFormationClient(config).send(new DescribeStacksCommand({ StackName: stackName }));
  const outputs = new Map((stacks.Stacks?.[0]?.Outputs ?? []).map((o) => [o.OutputKey, o.OutputValue]));
  const tableName = outputs.get('TableName');
  const clientSecretsArn = outputs.get('ClientSecretsArn');
  const signingKeysArn = outputs.get('SigningKeysSecretArn');
  if (!tableName || !clientSecretsArn || !signingKeysArn) {
    throw new Error(
      `stack ${stackName} lacks the TableName, ClientSecretsArn and SigningKeysSecretArn outputs; is it a token-broker stack?`,
    );
  }
  // Absent in a stack deployed before issue 11: a seed without identity providers still applies.
  const identityProviderSecretsArn = outputs.get('IdentityProviderSecretsArn');
  return { tableName, clientSecretsArn, signingKeysArn, identityProviderSecretsArn };
}

export async function seedStack(seed: Seed, stackName: string, region: string | undefined, options: SeedOptions): Promise<SeedReport> {
  const config = region ? { region } : {};
  const { tableName, clientSecretsArn, signingKeysArn, identityProviderSecretsArn } = await stackOutputs(stackName, region);
  const secretsManager = new SecretsManagerClient(config);
  const providerSecrets: ProviderSecretsWriter = identityProviderSecretsArn
    ? new SecretsManagerProviderSecretsWriter(secretsManager, identityProviderSecretsArn)
    : {
        currentProviderSecrets: async () => ({}),
        putProviderSecrets: async () => {
          throw new Error(
            `stack ${stackName} has no IdentityProviderSecretsArn output: deploy this version before seeding identityProviders`,
          );
        },
      };
  return applySeed(
    seed,
    seedTarget(storesOf(stackTable(tableName, config)), {
      clientSecrets: new SecretsManagerWriter(secretsManager, clientSecretsArn),
      signingKeys: new SecretsManagerSigningKeyWriter(secretsManager, signingKeysArn),
      providerSecrets,
    }),
    options,
  );
}

/** A deployed stack's table, through the caller's AWS credentials and region (not the Lambda's call budget). */
function stackTable(tableName: string, config: { region?: string }): TableSource {
  return { client: new DynamoDBClient(config), tableName };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  // Audit events name the CLI as their source (contract section 12).
  withRequestContext({ requestId: randomUUID(), sourceIp: 'seed-cli' }, () => main(process.argv.slice(2))).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(`seed failed: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
}
