import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { RefreshingValue } from '../../functions/adapters/refreshing-value.js';
import { secretsManagerSigningKeys } from '../../functions/adapters/secrets-manager.js';
import { ServiceUnavailable } from '../../functions/domain/errors.js';
import { newSigningKey, SIGNING_KEYS_CACHE_SECONDS, signingKeyAt, type PrivateSigningKey } from '../../functions/domain/signing-keys.js';
import { LocalSecretsFile } from '../../functions/local/secrets-file.js';
import { MemoryStore } from '../../functions/adapters/memory-store.js';
import { applySeed } from '../../functions/seed/apply.js';
import { parseSeed } from '../../functions/seed/schema.js';
import { testSeed } from '../support/seed.js';

/** Issue 8 item 9: the private signing keys as the signers read them, stored formats old and new. */

const NOW = 1_900_000_000;
const sm = mockClient(SecretsManagerClient);
const client = new SecretsManagerClient({ region: 'eu-central-1' });
afterEach(() => sm.reset());
afterAll(() => sm.restore());

const stored = (keys: unknown) =>
  sm.on(GetSecretValueCommand, { SecretId: 'signing' }).resolves({ SecretString: JSON.stringify({ keys }) });

/** A signer as the storefront function builds one: the key list cached, the key picked per call. */
function signer(load: () => Promise<PrivateSigningKey[]>, clock: () => number) {
  const keys = new RefreshingValue('Secrets Manager', load, clock, SIGNING_KEYS_CACHE_SECONDS);
  return async () => signingKeyAt(await keys.get(), clock());
}

describe('the signing keys from Secrets Manager', () => {
  it('read a list stored before activation times existed as active, the first key in use', async () => {
    const [a, b] = await Promise.all([newSigningKey(NOW - 100), newSigningKey(NOW - 9000)]);
    stored([a.privateKey, b.privateKey]);
    expect((await signer(secretsManagerSigningKeys(client, 'signing'), () => NOW)()).kid).toBe(a.privateKey.kid);
  });

  it('keep signing with the current key until the pending one activates, without another read', async () => {
    const [current, pending] = await Promise.all([newSigningKey(NOW - 100), newSigningKey(NOW)]);
    stored([
      { ...pending.privateKey, activatesAt: NOW + 60 },
      { ...current.privateKey, activatesAt: NOW - 100 },
    ]);
    let now = NOW;
    const sign = signer(secretsManagerSigningKeys(client, 'signing'), () => now);
    expect((await sign()).kid).toBe(current.privateKey.kid);
    now = NOW + 59;
    expect((await sign()).kid).toBe(current.privateKey.kid);
    now = NOW + 60;
    expect((await sign()).kid).toBe(pending.privateKey.kid);
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });

  it('are a 503 before any seed, naming the secret and quoting no key material', async () => {
    stored([]);
    await expect(signer(secretsManagerSigningKeys(client, 'signing'), () => NOW)()).rejects.toBeInstanceOf(ServiceUnavailable); // a 503 (test/unit/error-tables.test.ts)
    await expect(secretsManagerSigningKeys(client, 'signing')()).rejects.toThrow(/secret signing holds no signing key/);
  });
});

describe('the signing keys in the local secrets file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'token-broker-keys-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('load a file written before activation times existed, and rotate it at the next seed with a lead time', async () => {
    const legacy = await newSigningKey(NOW - 9000);
    const path = join(dir, 'secrets.json');
    writeFileSync(
      path,
      JSON.stringify({
        clientSecrets: { current: {}, previous: {} },
        keys: { cacheKey: 'k'.repeat(43) },
        signingKeys: [legacy.privateKey],
      }),
    );
    const file = new LocalSecretsFile(path);
    expect(signingKeyAt(await file.readSigningKeys(), NOW).kid).toBe(legacy.privateKey.kid);

    const store = new MemoryStore();
    const target = {
      directory: store,
      customers: store,
      sessions: store,
      publicKeys: store,
      authorizations: store,
      clientSecrets: file,
      signingKeys: file,
      providerSecrets: file,
    };
    await store.putPublishedKeys([legacy.published]);
    const seed = parseSeed(JSON.stringify(testSeed()));
    expect((await applySeed(seed, target, { now: NOW })).signingKey).toBe('kept');
    expect(await file.readSigningKeys()).toEqual([legacy.privateKey]);

    expect((await applySeed(seed, target, { now: NOW, rotateSigningKey: true })).signingKey).toBe('rotated');
    const keys = await file.readSigningKeys();
    expect(keys.map((key) => key.kid)[1]).toBe(legacy.privateKey.kid);
    expect(signingKeyAt(keys, NOW).kid).toBe(legacy.privateKey.kid);
    expect(signingKeyAt(keys, keys[0]!.activatesAt!).kid).toBe(keys[0]!.kid);
    expect((await store.getPublishedKeys()).map((key) => key.jwk.kid)).toEqual([keys[0]!.kid, legacy.privateKey.kid]);
  });
});
