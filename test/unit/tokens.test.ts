import { describe, expect, it } from 'vitest';
import { seal, unseal } from '../../functions/domain/seal.js';
import { hashToken, mintToken, newSelector, parseToken, sameHash } from '../../functions/domain/tokens.js';

describe('split tokens', () => {
  it('are 64 base64url characters (384 bits) and parse back to their selector and hash', () => {
    const minted = mintToken();
    expect(minted.token).toMatch(/^[A-Za-z0-9_-]{64}$/);
    expect(parseToken(minted.token)).toEqual(minted);
    expect(minted.hash).toBe(hashToken(minted.token));
  });

  it('share a selector when minted under one, but never a token', () => {
    const selector = newSelector();
    const a = mintToken(selector);
    const b = mintToken(selector);
    expect(a.selector).toBe(selector);
    expect(b.selector).toBe(selector);
    expect(a.token).not.toBe(b.token);
    expect(sameHash(a.hash, b.hash)).toBe(false);
  });

  it('carry a refresh token’s generation in the first verifier byte, wrapping at 256', () => {
    const selector = newSelector();
    expect(parseToken(mintToken(selector, 0).token)?.generation).toBe(0);
    expect(parseToken(mintToken(selector, 7).token)?.generation).toBe(7);
    expect(parseToken(mintToken(selector, 256).token)?.generation).toBe(0);
    expect(mintToken(selector, 3).token).not.toBe(mintToken(selector, 3).token);
  });

  it('refuse anything malformed without a lookup', () => {
    for (const bad of [undefined, '', 'short', 'x'.repeat(63), 'x'.repeat(65), `${'x'.repeat(63)}=`, `${'x'.repeat(63)}.`]) {
      expect(parseToken(bad)).toBeUndefined();
    }
  });
});

describe('seal', () => {
  const key = Buffer.from('k'.repeat(48));

  it('opens with the same key and context', () => {
    expect(unseal(seal('the token', key, 'ctx'), key, 'ctx')).toBe('the token');
  });

  it('does not keep the plaintext readable, and differs each time', () => {
    const a = seal('the token', key, 'ctx');
    expect(Buffer.from(a, 'base64url').toString('utf8')).not.toContain('the token');
    expect(seal('the token', key, 'ctx')).not.toBe(a);
  });

  it('does not open under another key, another context, or after tampering', () => {
    const sealed = seal('the token', key, 'client-a');
    expect(unseal(sealed, Buffer.from('j'.repeat(48)), 'client-a')).toBeUndefined();
    expect(unseal(sealed, key, 'client-b')).toBeUndefined();
    const raw = Buffer.from(sealed, 'base64url');
    raw[raw.length - 1]! ^= 1;
    expect(unseal(raw.toString('base64url'), key, 'client-a')).toBeUndefined();
    expect(unseal('AAAA', key, 'client-a')).toBeUndefined();
  });
});
