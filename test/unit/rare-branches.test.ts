import { describe, expect, it } from 'vitest';
import { parseClientSecretsDocument } from '../../functions/domain/client-secrets.js';
import { scanJson } from '../../functions/domain/json-scan.js';
import { refusal } from '../../functions/domain/login-throttle.js';
import { renewalRefusal } from '../../functions/domain/refresh-family.js';
import { seal, unseal } from '../../functions/domain/seal.js';
import { newSigningKey, retireSigningKeys, signingKeyAt } from '../../functions/domain/signing-keys.js';
import { mintToken } from '../../functions/domain/tokens.js';

/**
 * The domain's rarely taken branches, each as the behaviour a caller relies on. Found with
 * `vitest --coverage` (issue 9, item 10); the branches still untested are named in the README.
 */

describe('a client-secrets document that is not what the broker wrote', () => {
  it('is refused naming the client and the field, never the value', () => {
    const secret = 'do-not-echo-this-secret';
    expect(() => parseClientSecretsDocument({ 'orders-svc': [secret] }, 'secrets.json')).toThrow(
      'secrets.json: value for orders-svc is neither a string nor an object',
    );
    expect(() => parseClientSecretsDocument({ 'orders-svc': { current: secret, previousUntil: 'tomorrow' } }, 'secrets.json')).toThrow(
      'secrets.json: orders-svc.previousUntil is not a number',
    );
    const refusal = (() => {
      try {
        parseClientSecretsDocument({ 'orders-svc': { current: secret, previous: 42 } }, 'secrets.json');
      } catch (error) {
        return String(error);
      }
      return 'accepted';
    })();
    expect(refusal).toContain('orders-svc.previous is not a string');
    expect(refusal).not.toContain(secret);
  });
});

describe('the request-body scanner', () => {
  it('refuses a malformed \\u escape and a member without a colon, like JSON.parse', () => {
    expect(scanJson('{"a\\u12":1}')).toMatchObject({ ok: false, reason: 'malformed \\u escape' });
    expect(scanJson('{"a" 1}')).toMatchObject({ ok: false, reason: "expected ':'" });
    expect(scanJson('{"a"')).toMatchObject({ ok: false, reason: 'unexpected end of input' });
    for (const text of ['{"a\\u12":1}', '{"a" 1}', '{"a"']) expect(() => JSON.parse(text)).toThrow();
  });
});

describe('a refused login attempt', () => {
  it('waits at least one second, even when the slow-down deadline is already due', () => {
    expect(refusal({ attempts: 3, windowEnd: 2_000, notBefore: 1_000 }, 1_000)).toEqual({ reason: 'slowed', retryAfter: 1 });
    expect(refusal({ attempts: 3, windowEnd: 2_000 }, 1_000)).toEqual({ reason: 'slowed', retryAfter: 1 });
    expect(refusal({ attempts: 5, windowEnd: 1_000 }, 1_000)).toEqual({ reason: 'locked', retryAfter: 1 });
  });
});

describe('the deprecated anonymous_token renewal', () => {
  it('is refused for a selector that names no family', () => {
    expect(renewalRefusal(undefined, { hash: 'h', tenant: 'acme', clientId: 'storefront-web' }, 1_000)).toBe('exists');
  });
});

describe('signing keys stored before rotations were timed', () => {
  it('keep their stored order: the first of two keys without an activation time signs', async () => {
    const first = (await newSigningKey(1_000)).privateKey;
    const second = (await newSigningKey(1_000)).privateKey;
    expect(signingKeyAt([first, second], 5_000).kid).toBe(first.kid);
  });

  it('a seed with no keys at all keeps none and publishes none', () => {
    expect(retireSigningKeys({ privateKeys: [], published: [] }, 1_000, 14_399)).toEqual({ privateKeys: [], published: [] });
  });

  it('a pending key whose public half went missing is published again, and the key it replaces retires after it', async () => {
    const inUse = { ...(await newSigningKey(1_000)).privateKey, activatesAt: 1_000 };
    const pending = { ...(await newSigningKey(2_000)).privateKey, activatesAt: 2_660 };
    const { published } = retireSigningKeys({ privateKeys: [pending, inUse], published: [] }, 2_000, 14_399);
    expect(published.map((key) => key.jwk.kid).sort()).toEqual([inUse.kid, pending.kid].sort());
    expect(published.find((key) => key.jwk.kid === pending.kid)!.notAfter).toBeUndefined();
    expect(published.find((key) => key.jwk.kid === inUse.kid)!.notAfter).toBeGreaterThan(2_660 + 14_399);
  });
});

describe('minting a token', () => {
  it('refuses a selector of the wrong size rather than mint a token no lookup would find', () => {
    expect(() => mintToken('c2hvcnQ')).toThrow('selector must be 16 bytes');
  });
});

describe('sealing under many contexts with one key', () => {
  it('keeps opening what it sealed after its bounded cache of derived keys was emptied', () => {
    const key = Buffer.alloc(32, 7);
    const first = seal('token-0', key, 'context-0');
    // 10,000 contexts fill the cache of derived keys; the next one empties it.
    for (let i = 1; i <= 10_000; i++) seal(`token-${i}`, key, `context-${i}`);
    expect(unseal(first, key, 'context-0')).toBe('token-0');
    expect(unseal(first, key, 'context-1')).toBeUndefined();
  });
});
