import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetSecretValueCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main, seedStack } from '../../bin/seed.js';
import { secretsManagerProviderSecrets } from '../../functions/adapters/secrets-manager.js';
import { DynamoDbStore } from '../../functions/adapters/dynamodb/stores.js';
import { DEFAULTS } from '../../functions/config.js';
import { ServiceUnavailable } from '../../functions/domain/errors.js';
import { identityProviderOf } from '../../functions/domain/tenant.js';
import { localSecretsSources } from '../../functions/local/broker.js';
import { startEmbeddedDynamoDb } from '../../functions/local/embedded-dynamodb.js';
import { LocalSecretsFile } from '../../functions/local/secrets-file.js';
import { silentLogger } from '../../functions/log.js';
import { parseSeed } from '../../functions/seed/schema.js';
import { identityProvidersPart } from '../../functions/wiring.js';
import { type OidcProviderFixture, startOidcProvider } from '../support/oidc-provider.js';
import { testSeed } from '../support/seed.js';

/**
 * Seed `identityProviders` end to end (issue 11 item 1): the providers land in the tenant's
 * directory item without their secret, the secrets in the provider-secrets document (the local
 * secrets file; Secrets Manager for a stack), a dropped provider loses its secret, and the
 * wiring's client, reading that document, exchanges a real code at a real provider.
 */

const quiet = silentLogger;
let idp: OidcProviderFixture;
beforeAll(async () => {
  idp = await startOidcProvider();
});
afterAll(() => idp.stop());

function seedWithProviders(providers: Record<string, unknown>) {
  const seed = testSeed() as { tenants: Record<string, Record<string, unknown>> };
  seed.tenants.acme!.identityProviders = providers;
  return seed;
}

describe('seeding identity providers locally', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'token-broker-idp-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('keeps providers in the directory and secrets in the secrets file only; a dropped provider loses its secret', async () => {
    const file = join(dataDir, 'seed.json');
    const providers = {
      default: {
        issuer: idp.issuer,
        clientId: idp.clientId,
        clientSecret: idp.clientSecret,
        redirectUri: idp.redirectUri,
        autoProvision: true,
      },
      keycloak: {
        issuer: 'https://kc.example/realms/acme',
        clientId: 'broker',
        clientSecret: 'keycloak-secret-0001',
        redirectUri: 'https://shop.example/cb',
        customerIdentifier: 'SUBJECT',
        validation: 'introspection',
      },
    };
    writeFileSync(file, JSON.stringify(seedWithProviders(providers)));
    expect(await main([file, '--local', '--data-dir', dataDir], { clock: () => 1_900_000_000, log: quiet })).toBe(0);

    const secretsPath = join(dataDir, 'secrets.json');
    expect(JSON.parse(readFileSync(secretsPath, 'utf8')).identityProviderSecrets).toEqual({
      acme: { default: idp.clientSecret, keycloak: 'keycloak-secret-0001' },
    });
    const dynamo = await startEmbeddedDynamoDb(join(dataDir, 'dynamodb'));
    try {
      const store = new DynamoDbStore(dynamo.client, dynamo.tableName);
      const acme = (await store.getTenant('acme'))!;
      expect(identityProviderOf(acme, 'default')).toEqual({
        name: 'default',
        issuer: idp.issuer,
        clientId: idp.clientId,
        redirectUri: idp.redirectUri,
        customerIdentifier: 'EMAIL',
        autoProvision: true,
        validation: 'jwks',
      });
      expect(identityProviderOf(acme, 'keycloak')).toMatchObject({ customerIdentifier: 'SUBJECT', validation: 'introspection' });
      expect((await store.getTenant('globex'))!.identityProviders).toEqual({});
      // No provider secret anywhere in the table.
      const { Items } = await dynamo.client.send(new ScanCommand({ TableName: dynamo.tableName }));
      const table = JSON.stringify(Items);
      expect(table).toContain('kc.example');
      expect(table).not.toContain(idp.clientSecret);
      expect(table).not.toContain('keycloak-secret-0001');
    } finally {
      await dynamo.close();
    }

    // Applying it again writes nothing; dropping a provider drops its secret and its entry.
    const before = readFileSync(secretsPath, 'utf8');
    expect(await main([file, '--local', '--data-dir', dataDir], { clock: () => 1_900_000_100, log: quiet })).toBe(0);
    expect(readFileSync(secretsPath, 'utf8')).toBe(before);
    const { keycloak: _dropped, ...kept } = providers;
    writeFileSync(file, JSON.stringify(seedWithProviders(kept)));
    expect(await main([file, '--local', '--data-dir', dataDir], { clock: () => 1_900_000_200, log: quiet })).toBe(0);
    expect(JSON.parse(readFileSync(secretsPath, 'utf8')).identityProviderSecrets).toEqual({ acme: { default: idp.clientSecret } });
    const again = await startEmbeddedDynamoDb(join(dataDir, 'dynamodb'));
    try {
      const acme = (await new DynamoDbStore(again.client, again.tableName).getTenant('acme'))!;
      expect(Object.keys(acme.identityProviders!)).toEqual(['default']);
    } finally {
      await again.close();
    }
  });

  it("the wiring's client reads the seeded secret from the secrets file and exchanges a real code", async () => {
    const file = new LocalSecretsFile(join(dataDir, 'secrets.json'));
    const settings = { clock: () => Math.floor(Date.now() / 1000), log: quiet, serviceTokenReuseShare: 0.5, hold: DEFAULTS.localHold };
    const sources = localSecretsSources(file);
    const client = identityProvidersPart(sources.name, sources.identityProviderSecrets, settings);
    const provider = {
      name: 'default',
      issuer: idp.issuer,
      clientId: idp.clientId,
      redirectUri: idp.redirectUri,
      customerIdentifier: 'EMAIL' as const,
      autoProvision: true,
      validation: 'jwks' as const,
    };
    const tokens = await client.exchangeCode('acme', provider, { code: await idp.getCode({ login: 'cid' }), redirectUri: idp.redirectUri });
    expect(tokens.identity).toEqual({ issuer: idp.issuer, subject: 'cid', email: 'cid@example.com', emailVerified: true });
    // Another tenant's provider of the same name has no secret here: a configuration fault, 503.
    const error = await client
      .exchangeCode('globex', provider, { code: await idp.getCode({ login: 'cid' }), redirectUri: idp.redirectUri })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceUnavailable);
  });
});

describe('seeding identity providers on a stack', () => {
  const cfn = mockClient(CloudFormationClient);
  const sm = mockClient(SecretsManagerClient);
  const saved = { ...process.env };
  afterAll(() => {
    process.env = saved;
    cfn.restore();
    sm.restore();
  });

  it('writes the secrets to IdentityProviderSecrets (only on change), which the loader reads back', async () => {
    const dynamo = await startEmbeddedDynamoDb(undefined);
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_REGION: 'eu-central-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
    });
    const outputs = (withProviders: boolean) => [
      { OutputKey: 'TableName', OutputValue: dynamo.tableName },
      { OutputKey: 'ClientSecretsArn', OutputValue: 'arn:aws:secretsmanager:eu-central-1:1:secret:clients' },
      { OutputKey: 'SigningKeysSecretArn', OutputValue: 'arn:aws:secretsmanager:eu-central-1:1:secret:signing' },
      ...(withProviders
        ? [{ OutputKey: 'IdentityProviderSecretsArn', OutputValue: 'arn:aws:secretsmanager:eu-central-1:1:secret:idps' }]
        : []),
    ];
    const stack = (name: string, withProviders: boolean) =>
      cfn.on(DescribeStacksCommand, { StackName: name }).resolves({
        Stacks: [{ StackName: name, CreationTime: new Date(), StackStatus: 'CREATE_COMPLETE', Outputs: outputs(withProviders) }],
      });
    stack('TokenBroker', true);
    stack('OldBroker', false);
    const stored: Record<string, string> = { clients: '{}', signing: '{"keys":[]}', idps: '{}' };
    const name = (arn: string) => arn.split(':').pop()!;
    sm.on(GetSecretValueCommand).callsFake((input: { SecretId: string }) => ({ SecretString: stored[name(input.SecretId)] }));
    sm.on(PutSecretValueCommand).callsFake((input: { SecretId: string; SecretString: string }) => {
      stored[name(input.SecretId)] = input.SecretString;
      return {};
    });
    try {
      const provider = {
        issuer: 'https://login.example.com',
        clientId: 'acme-shop',
        clientSecret: 'change-me-idp',
        redirectUri: 'https://shop.example/cb',
      };
      const seed = parseSeed(JSON.stringify(seedWithProviders({ default: provider })));
      expect(await seedStack(seed, 'TokenBroker', undefined, { now: 1_900_000_000 })).toMatchObject({
        identityProviders: ['acme/default'],
        providerSecretsWritten: true,
      });
      expect(JSON.parse(stored.idps!)).toEqual({ acme: { default: 'change-me-idp' } });
      const idpWrites = () => sm.commandCalls(PutSecretValueCommand).filter((call) => name(call.args[0].input.SecretId!) === 'idps');
      expect(idpWrites()).toHaveLength(1);
      expect(await seedStack(seed, 'TokenBroker', undefined, { now: 1_900_000_000 })).toMatchObject({ providerSecretsWritten: false });
      expect(idpWrites()).toHaveLength(1);
      const load = secretsManagerProviderSecrets(new SecretsManagerClient({}), 'arn:aws:secretsmanager:eu-central-1:1:secret:idps');
      expect(await load()).toEqual({ acme: { default: 'change-me-idp' } });

      // A stack deployed before issue 11 takes a seed without providers, and refuses one with them.
      expect(await seedStack(parseSeed(JSON.stringify(testSeed())), 'OldBroker', undefined, { now: 1_900_000_000 })).toMatchObject({
        providerSecretsWritten: false,
      });
      await expect(seedStack(seed, 'OldBroker', undefined, { now: 1_900_000_000 })).rejects.toThrow(/no IdentityProviderSecretsArn output/);
    } finally {
      await dynamo.close();
    }
  });
});
