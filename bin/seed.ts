/**
 * Applies a seed file (shared/spec/operating.md) to local mode's store or to a deployed stack.
 *
 *   npm run seed -- <seed.json> --local [--data-dir .data] [--rotate-signing-key]
 *   npm run seed -- <seed.json> --stack TokenBroker [--region eu-central-1] [--rotate-signing-key]
 *   npm run seed -- --end-customer-sessions <tenant> <email> (--local [--data-dir .data] | --stack NAME)
 *
 * The stack's outputs name the table and the secrets; the caller's AWS credentials are used. The
 * seed is validated in full before anything is written. A signing key is created when there is
 * none; --rotate-signing-key replaces it (the old public key stays published until the tokens
 * it signed have expired).
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoDbSessions } from '../functions/adapters/dynamodb-sessions.js';
import { DynamoDbStore } from '../functions/adapters/dynamodb-store.js';
import { withRequestContext } from '../functions/audit.js';
import { isValidTenant } from '../functions/domain/tenant.js';
import { jsonLogger } from '../functions/log.js';
import { systemClock } from '../functions/ports.js';
import { endCustomerSessions } from '../functions/use-cases/customer-sessions.js';
import { startEmbeddedDynamoDb } from '../functions/local/embedded-dynamodb.js';
import { LocalSecretsFile } from '../functions/local/secrets-file.js';
import { applySeed, type SeedReport } from '../functions/seed/apply.js';
import { parseSeed, type Seed } from '../functions/seed/schema.js';
import { SecretsManagerSigningKeyWriter, SecretsManagerWriter } from '../functions/seed/secrets-manager-writer.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const USAGE =
  'usage: seed <seed.json> (--local [--data-dir DIR] | --stack NAME [--region REGION]) [--rotate-signing-key]\n' +
  '       seed --end-customer-sessions <tenant> <email> (--local [--data-dir DIR] | --stack NAME [--region REGION])';

/** Audit events (contract section 12) go to stderr as JSON lines; stdout keeps the summary. */
const auditLog = jsonLogger((line) => process.stderr.write(`${line}\n`));

export async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      local: { type: 'boolean', default: false },
      'data-dir': { type: 'string', default: process.env.DATA_DIR || '.data' },
      stack: { type: 'string' },
      region: { type: 'string' },
      'rotate-signing-key': { type: 'boolean', default: false },
      'end-customer-sessions': { type: 'boolean', default: false },
    },
  });
  if (values['end-customer-sessions']) return endSessionsCommand(positionals, values);
  const file = positionals[0];
  if (!file || positionals.length > 1 || values.local === (values.stack !== undefined)) {
    console.error(USAGE);
    return 2;
  }
  const seed = parseSeed(readFileSync(file, 'utf8'), file);
  const options = { now: systemClock(), rotateSigningKey: values['rotate-signing-key']! };
  const report = values.local
    ? await seedLocal(seed, values['data-dir']!, options)
    : await seedStack(seed, values.stack!, values.region, options);
  console.log(
    `seeded tenants: ${report.tenants.join(', ') || '(none)'}; service clients: ${report.serviceClients.join(', ') || '(none)'}; ` +
      `customers: ${report.customers}; ` +
      (report.removed.length > 0 ? `removed: ${report.removed.join(', ')}; ` : '') +
      (report.customersRemoved.length > 0 ? `customers removed: ${report.customersRemoved.join(', ')}; ` : '') +
      (report.sessionsEnded > 0 ? `customer sessions ended: ${report.sessionsEnded}; ` : '') +
      (report.secretsRotated ? 'client secrets rotated (the previous ones stay accepted until the next rotation)' : 'client secrets unchanged') +
      `; signing key ${report.signingKey}`,
  );
  return 0;
}

type SeedOptions = Parameters<typeof applySeed>[2];

async function seedLocal(seed: Seed, dataDir: string, options: SeedOptions): Promise<SeedReport> {
  const dynamo = await startEmbeddedDynamoDb(join(dataDir, 'dynamodb'));
  try {
    const secrets = new LocalSecretsFile(join(dataDir, 'secrets.json'));
    secrets.ensure();
    const sessions = new DynamoDbSessions(dynamo.client, dynamo.tableName);
    return await applySeed(
      seed,
      {
        directory: new DynamoDbStore(dynamo.client, dynamo.tableName),
        customers: sessions,
        sessions,
        log: auditLog,
        publicKeys: sessions,
        clientSecrets: secrets,
        signingKeys: secrets,
      },
      options,
    );
  } finally {
    await dynamo.close();
  }
}

export async function seedStack(seed: Seed, stackName: string, region: string | undefined, options: SeedOptions): Promise<SeedReport> {
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
  const dynamo = new DynamoDBClient(config);
  const secretsManager = new SecretsManagerClient(config);
  const sessions = new DynamoDbSessions(dynamo, tableName);
  return applySeed(
    seed,
    {
      directory: new DynamoDbStore(dynamo, tableName),
      customers: sessions,
      sessions,
      log: auditLog,
      publicKeys: sessions,
      clientSecrets: new SecretsManagerWriter(secretsManager, clientSecretsArn),
      signingKeys: new SecretsManagerSigningKeyWriter(secretsManager, signingKeysArn),
    },
    options,
  );
}

// --- incident response: end every session of a customer (operating.md) ------------------------

/**
 * `--end-customer-sessions <tenant> <email>`: revokes every session family in the customer's
 * session index, at once for refresh, validation and introspection, and logs
 * customer_sessions_ended. It does not change the password: a holder of the password can log in
 * again, so change it in the seed (which ends the sessions too) when the password is what leaked.
 */
async function endSessionsCommand(
  positionals: string[],
  values: { local?: boolean; 'data-dir'?: string; stack?: string; region?: string },
): Promise<number> {
  const [tenant, rawEmail] = positionals;
  if (positionals.length !== 2 || !tenant || !rawEmail || values.local === (values.stack !== undefined)) {
    console.error(USAGE);
    return 2;
  }
  if (!isValidTenant(tenant)) {
    console.error('not a tenant: must match ^[a-z][a-z0-9]+$ and be 3 to 16 characters');
    return 2;
  }
  const email = rawEmail.trim().toLowerCase();
  const end = (dynamo: DynamoDBClient, tableName: string) =>
    endCustomerSessions(
      { sessions: new DynamoDbSessions(dynamo, tableName), clock: systemClock, log: auditLog },
      tenant,
      email,
      'incident_response',
    );
  let ended: number;
  if (values.local) {
    const embedded = await startEmbeddedDynamoDb(join(values['data-dir']!, 'dynamodb'));
    try {
      ended = await end(embedded.client, embedded.tableName);
    } finally {
      await embedded.close();
    }
  } else {
    const config = values.region ? { region: values.region } : {};
    const stacks = await new CloudFormationClient(config).send(new DescribeStacksCommand({ StackName: values.stack! }));
    const tableName = stacks.Stacks?.[0]?.Outputs?.find((o) => o.OutputKey === 'TableName')?.OutputValue;
    if (!tableName) throw new Error(`stack ${values.stack} lacks the TableName output; is it a token-broker stack?`);
    ended = await end(new DynamoDBClient(config), tableName);
  }
  console.log(`ended ${ended} session(s) of ${email} in tenant ${tenant}`);
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  withRequestContext({ requestId: randomUUID(), sourceIp: 'seed-cli' }, () => main(process.argv.slice(2))).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(`seed failed: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
}
