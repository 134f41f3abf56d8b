import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  JWKS_MAX_AGE_SECONDS,
  KEY_CACHES_SECONDS,
  PUBLICATION_LEAD_SECONDS,
  SIGNING_KEYS_CACHE_SECONDS,
} from '../../functions/domain/signing-keys.js';
import { parseSeed } from '../../functions/seed/schema.js';
import { startTestBroker, type TestBroker } from '../support/local-broker.js';
import { testSeed } from '../support/seed.js';
import { Storefront } from '../support/storefront.js';

/**
 * Issue 8 item 9: a signing-key rotation is safe against every cache of the keys, over HTTP
 * against local mode with a moved clock.
 */

/** The longest customer access-token lifetime of the test seed (the default). */
const LIFETIME = 14399;

let broker: TestBroker;
let storefront: Storefront;

beforeAll(async () => {
  broker = await startTestBroker();
  storefront = new Storefront(broker.url);
});

afterAll(() => broker.stop());

async function jwks(): Promise<{ keys: JWK[]; cacheControl: string | null }> {
  const response = await fetch(`${broker.url}/.well-known/jwks.json`);
  expect(response.status).toBe(200);
  return { keys: ((await response.json()) as { keys: JWK[] }).keys, cacheControl: response.headers.get('cache-control') };
}

const servedKids = async () => (await jwks()).keys.map((key) => key.kid);
const signedToken = async () => (await storefront.customer()).login.saas_token as string;
const kidOf = (token: string) => decodeProtectedHeader(token).kid;
const setClock = (at: number) => {
  broker.clock.now = at;
};

/** As a downstream service verifies: against the JWK Set it fetched, at the broker's time. */
async function verify(token: string, keys: JWK[]) {
  return jwtVerify(token, createLocalJWKSet({ keys }), { algorithms: ['ES256'], currentDate: new Date(broker.clock.now * 1000) });
}

describe('rotating the signing key', () => {
  it('serves the JWK Set with the max-age the rotation waits out', async () => {
    expect((await jwks()).cacheControl).toBe(`public, max-age=${JWKS_MAX_AGE_SECONDS}`);
  });

  it('publishes the new key before signing with it, and keeps the old one until its tokens and every cache have expired', async () => {
    const oldKid = kidOf(await signedToken());
    expect(await servedKids()).toEqual([oldKid]);

    const report = await broker.reseed(parseSeed(JSON.stringify(testSeed())), { rotateSigningKey: true });
    expect(report.signingKey).toBe('rotated');
    const rotatedAt = broker.clock.now;
    const activatesAt = rotatedAt + PUBLICATION_LEAD_SECONDS;

    // Right after the rotation: the new key is already published, logins still use the old one.
    const served = await servedKids();
    expect(served).toHaveLength(2);
    expect(served).toContain(oldKid);
    const newKid = served.find((kid) => kid !== oldKid)!;
    expect(kidOf(await signedToken())).toBe(oldKid);

    // Past every copy of the private keys a signer may hold, and to the last second of the lead
    // time: still the old key, so no verifier meets a kid its cached JWK Set lacks.
    broker.clock.advance(SIGNING_KEYS_CACHE_SECONDS + 1);
    expect(kidOf(await signedToken())).toBe(oldKid);
    setClock(activatesAt - 1);
    const lastOldToken = await signedToken();
    expect(kidOf(lastOldToken)).toBe(oldKid);
    expect(await servedKids()).toEqual(served);

    // From the end of the lead time: the new key signs, the old one is still served.
    setClock(activatesAt);
    const newToken = await signedToken();
    expect(kidOf(newToken)).toBe(newKid);
    expect(await servedKids()).toEqual(served);

    // A seed applied meanwhile changes nothing of that; the old token verifies to its last second.
    await broker.reseed(parseSeed(JSON.stringify(testSeed())));
    setClock(activatesAt - 1 + LIFETIME - 1);
    await expect(verify(lastOldToken, (await jwks()).keys)).resolves.toMatchObject({ protectedHeader: { kid: oldKid } });
    await expect(verify(newToken, (await jwks()).keys)).resolves.toMatchObject({ protectedHeader: { kid: newKid } });

    // The old key stays until its last token has expired plus every cache time...
    const oldGoneAt = activatesAt + LIFETIME + KEY_CACHES_SECONDS;
    setClock(oldGoneAt - 1);
    expect(await servedKids()).toEqual(served);
    // ...and then it is gone: not served, and pruned from the table by the next seed.
    setClock(oldGoneAt);
    expect(await servedKids()).toEqual([newKid]);
    const after = await broker.reseed(parseSeed(JSON.stringify(testSeed())));
    expect(after.signingKey).toBe('kept');
    expect(await servedKids()).toEqual([newKid]);
    const onDisk = JSON.parse(readFileSync(join(broker.dataDir, 'secrets.json'), 'utf8')) as { signingKeys: { kid: string }[] };
    expect(onDisk.signingKeys.map((key) => key.kid)).toEqual([newKid]);
    expect(kidOf(await signedToken())).toBe(newKid);
  });
});
