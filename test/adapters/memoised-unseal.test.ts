import { describe, expect, it } from 'vitest';
import { memoisedUnseal } from '../../functions/adapters/memoised-unseal.js';
import { seal, unseal, type Unseal } from '../../functions/domain/seal.js';

describe('memoisedUnseal', () => {
  const key = Buffer.from('k'.repeat(48));
  const counting = () => {
    const calls = { n: 0 };
    const inner: Unseal = (...args) => {
      calls.n++;
      return unseal(...args);
    };
    return { calls, memo: memoisedUnseal(inner, 2) };
  };

  it('opens a sealed value once per key and context, and answers as unseal does', () => {
    const { calls, memo } = counting();
    const sealed = seal('the token', key, 'ctx');
    expect(memo(sealed, key, 'ctx')).toBe('the token');
    expect(memo(sealed, key, 'ctx')).toBe('the token');
    expect(calls.n).toBe(1);
    // Another context or another key does not get the remembered answer.
    expect(memo(sealed, key, 'other')).toBeUndefined();
    expect(memo(sealed, Buffer.from('j'.repeat(48)), 'ctx')).toBeUndefined();
    expect(calls.n).toBe(3);
  });

  it('remembers no failure, stays bounded, and passes a string key straight through', () => {
    const { calls, memo } = counting();
    expect(memo('AAAA', key, 'ctx')).toBeUndefined();
    expect(memo('AAAA', key, 'ctx')).toBeUndefined();
    expect(calls.n).toBe(2);
    const [a, b, c] = ['a', 'b', 'c'].map((v) => seal(v, key, 'ctx')) as [string, string, string];
    for (const sealed of [a, b, c]) memo(sealed, key, 'ctx');
    expect(memo(a, key, 'ctx')).toBe('a');
    expect(calls.n).toBe(6);
    const once = seal('refresh successor', 'consumed-token', 'family');
    expect(memo(once, 'consumed-token', 'family')).toBe('refresh successor');
    expect(memo(once, 'consumed-token', 'family')).toBe('refresh successor');
    expect(calls.n).toBe(8);
  });
});
