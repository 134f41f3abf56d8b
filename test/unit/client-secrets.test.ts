import { describe, expect, it } from 'vitest';
import { endRotationOverlap, parseClientSecretsDocument, planSecretRotation } from '../../functions/domain/client-secrets.js';

const NOW = 1_900_000_000;
const want = (secret: string, overlapSeconds = 100) => ({ secret, overlapSeconds });

describe('planning a secret rotation (the seed)', () => {
  it('keeps the old secret as previous, until now + the tenant’s overlap, only for a client whose secret changed', () => {
    const plan = planSecretRotation({ a: 'a-1', b: { current: 'b-1' } }, { a: want('a-2', 50), b: want('b-1') }, NOW);
    expect(plan).toEqual({
      changed: true,
      rotated: [{ clientId: 'a', previousUntil: NOW + 50 }],
      document: { a: { current: 'a-2', previous: 'a-1', previousUntil: NOW + 50 }, b: { current: 'b-1' } },
    });
  });

  it('carries unchanged entries over untouched, an open overlap and a plain string included: nothing to write', () => {
    const stored = { a: { current: 'a-2', previous: 'a-1', previousUntil: NOW + 10 }, b: 'b-1' };
    const plan = planSecretRotation(stored, { a: want('a-2', 9999), b: want('b-1') }, NOW + 5);
    expect(plan).toEqual({ changed: false, rotated: [], document: stored });
  });

  it('adds a new client without a previous secret and drops a client the seed no longer names', () => {
    expect(planSecretRotation({ gone: 'g-1' }, { fresh: want('f-1') }, NOW)).toEqual({
      changed: true,
      rotated: [],
      document: { fresh: { current: 'f-1' } },
    });
  });

  it('rotating twice within an overlap keeps only the latest previous secret', () => {
    const once = planSecretRotation({ a: 'a-1' }, { a: want('a-2') }, NOW).document;
    expect(planSecretRotation(once, { a: want('a-3') }, NOW + 10).document).toEqual({
      a: { current: 'a-3', previous: 'a-2', previousUntil: NOW + 110 },
    });
  });

  it('treats __proto__ as a client id like any other', () => {
    const stored = parseClientSecretsDocument(JSON.parse('{"__proto__": "p-1"}') as Record<string, unknown>, 'test');
    const plan = planSecretRotation(stored, JSON.parse('{"__proto__": {"secret": "p-2", "overlapSeconds": 5}}'), NOW);
    expect(JSON.parse(JSON.stringify(plan.document))).toEqual(
      JSON.parse('{"__proto__": {"current": "p-2", "previous": "p-1", "previousUntil": 1900000005}}'),
    );
  });
});

describe('ending an overlap (incident response)', () => {
  it('drops the previous secret and its end, and leaves every other client as it was', () => {
    const stored = { a: { current: 'a-2', previous: 'a-1', previousUntil: NOW }, b: 'b-1' };
    expect(endRotationOverlap(stored, 'a')).toEqual({ ended: true, document: { a: { current: 'a-2' }, b: 'b-1' } });
    expect(stored.a.previous).toBe('a-1');
    expect(endRotationOverlap(stored, 'b')).toEqual({ ended: false, document: stored });
    expect(endRotationOverlap(stored, 'nobody')).toBeUndefined();
  });
});
