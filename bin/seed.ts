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
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoDbSessions } from '../functions/adapters/dynamodb-sessions.js';
import { DynamoDbStore } from '../functions/adapters/dynamodb-store.js';
import { systemClock } from '../functions/ports.js';
import { startEmbeddedDynamoDb } from '../functions/local/embedded-dynamodb.js';
import { LocalSecretsFile } from '../functions/local/secrets-file.js';
import { applySeed, type SeedReport } from '../functions/seed/apply.js';
import { parseSeed, type Seed } from '../functions/seed/schema.js';
import { SecretsManagerSigningKeyWriter, SecretsManagerWriter } from '../functions/seed/secrets-manager-writer.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const USAGE = 'usage: seed <seed.json> (--local [--data-dir DIR] | --stack NAME [--region REGION]) [--rotate-signing-key]';

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
    },
  });
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
      publicKeys: sessions,
      clientSecrets: new SecretsManagerWriter(secretsManager, clientSecretsArn),
      signingKeys: new SecretsManagerSigningKeyWriter(secretsManager, signingKeysArn),
    },
    options,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(`seed failed: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
}
