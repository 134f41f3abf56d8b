import {
  GetSecretValueCommand,
  InternalServiceError,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { VersionedClientSecrets } from '../../functions/adapters/client-secrets.js';
import { RefreshingValue } from '../../functions/adapters/refreshing-value.js';
import { secretsManagerCacheKey, secretsManagerClientSecrets } from '../../functions/adapters/secrets-manager.js';
import { ServiceUnavailable } from '../../functions/domain/errors.js';

const sm = mockClient(SecretsManagerClient);
const client = new SecretsManagerClient({ region: 'eu-central-1' });
const meta = { $metadata: {} };

afterEach(() => sm.reset());

function versions(current: object, previous?: object) {
  sm.on(GetSecretValueCommand, { SecretId: 'clients', VersionStage: 'AWSCURRENT' }).resolves({ SecretString: JSON.stringify(current) });
  const previousStage = sm.on(GetSecretValueCommand, { SecretId: 'clients', VersionStage: 'AWSPREVIOUS' });
  if (previous) previousStage.resolves({ SecretString: JSON.stringify(previous) });
  else previousStage.rejects(new ResourceNotFoundException({ message: 'no previous version', ...meta }));
}

function clientSecrets(clock = () => 1000) {
  const value = new RefreshingValue('Secrets Manager', secretsManagerClientSecrets(client, 'clients'), clock, 300, 30);
  return new VersionedClientSecrets(value, clock);
}

describe('client secrets from Secrets Manager', () => {
  it('accept the current and, during its overlap, the previous secret, and refuse the previous one from previousUntil on', async () => {
    let now = 1000;
    versions({ orders: { current: 'new-secret-value', previous: 'old-secret-value', previousUntil: 1100 } });
    const secrets = clientSecrets(() => now);
    expect(await secrets.verify('orders', 'new-secret-value')).toBe(true);
    expect(await secrets.verify('orders', 'old-secret-value')).toBe(true);
    expect(await secrets.verify('orders', 'other')).toBe(false);
    now = 1099;
    expect(await secrets.verify('orders', 'old-secret-value')).toBe(true);
    // No reload in between (the cache lasts 300 s): the end is checked on every request.
    now = 1100;
    expect(await secrets.verify('orders', 'old-secret-value')).toBe(false);
    expect(await secrets.verify('orders', 'new-secret-value')).toBe(true);
  });

  it('never accept the AWSPREVIOUS version: an old secret there stays refused, without end or not', async () => {
    versions({ orders: 'new-secret-value' }, { orders: 'old-secret-value' });
    const secrets = clientSecrets();
    expect(await secrets.verify('orders', 'new-secret-value')).toBe(true);
    expect(await secrets.verify('orders', 'old-secret-value')).toBe(false);
  });

  it('refuse a previous secret that has no end', async () => {
    versions({ orders: { current: 'new-secret-value', previous: 'old-secret-value' } });
    expect(await clientSecrets().verify('orders', 'old-secret-value')).toBe(false);
  });

  it('read a plain string as the current secret (the format before rotation windows)', async () => {
    versions({ orders: 'only-secret-value', reports: { current: 'reports-secret-value' } });
    const secrets = clientSecrets();
    expect(await secrets.verify('orders', 'only-secret-value')).toBe(true);
    expect(await secrets.verify('reports', 'reports-secret-value')).toBe(true);
    expect(await secrets.verify('unknown', 'only-secret-value')).toBe(false);
  });

  it('refuse a malformed entry, naming the client and not the value', async () => {
    versions({ orders: { current: 42, previous: 'leaked-secret-value' } });
    const error = await secretsManagerClientSecrets(client, 'clients')().catch((e: unknown) => e);
    expect((error as Error).message).toBe('secret clients: orders.current is not a string');
  });

  it('never accept a client that has no secret, even with the placeholder compared against', async () => {
    versions({});
    expect(await clientSecrets().verify('ghost', 'unknown-client-placeholder-secret')).toBe(false);
    expect(await clientSecrets().verify('__proto__', '[object Object]')).toBe(false);
  });

  it('load the one version once per cache period, not once per request', async () => {
    versions({ orders: 'new-secret-value' });
    const secrets = clientSecrets();
    await Promise.all([1, 2, 3, 4].map(() => secrets.verify('orders', 'new-secret-value')));
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });

  it('keep serving from memory through an outage once warm', async () => {
    let now = 1000;
    versions({ orders: 'new-secret-value' });
    const secrets = clientSecrets(() => now);
    await secrets.preload();
    sm.reset();
    sm.on(GetSecretValueCommand).rejects(new InternalServiceError({ message: 'outage', ...meta }));
    now += 301;
    expect(await secrets.verify('orders', 'new-secret-value')).toBe(true);
  });

  it('answer 503 on a cold start during an outage, and recover when it ends', async () => {
    sm.on(GetSecretValueCommand).rejects(new InternalServiceError({ message: 'outage', ...meta }));
    const secrets = clientSecrets();
    await expect(secrets.verify('orders', 'x')).rejects.toBeInstanceOf(ServiceUnavailable);
    sm.reset();
    versions({ orders: 'new-secret-value' });
    expect(await secrets.verify('orders', 'new-secret-value')).toBe(true);
  });

  it('do not quote a malformed secret in the error', async () => {
    sm.on(GetSecretValueCommand).resolves({ SecretString: '{"orders": "leaked-secret' });
    const error = await secretsManagerClientSecrets(client, 'clients')().catch((e: unknown) => e);
    expect((error as Error).message).toBe('secret clients (AWSCURRENT) is not valid JSON');
  });
});

describe('the cache key from Secrets Manager', () => {
  it('is read from the keys secret', async () => {
    sm.on(GetSecretValueCommand, { SecretId: 'keys' }).resolves({ SecretString: JSON.stringify({ cacheKey: 'k'.repeat(64) }) });
    expect((await secretsManagerCacheKey(client, 'keys')()).toString()).toBe('k'.repeat(64));
  });

  it('is refused when missing or too short', async () => {
    sm.on(GetSecretValueCommand, { SecretId: 'keys' }).resolves({ SecretString: JSON.stringify({ cacheKey: 'short' }) });
    await expect(secretsManagerCacheKey(client, 'keys')()).rejects.toThrow(/at least 32/);
  });
});
