import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { lineAndColumn, scanJson } from '../../functions/domain/json-scan.js';

/** The scanner accepts exactly what JSON.parse accepts, and finds every repeated member name. */

const parses = (text: string) => {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
};

/** Texts near JSON: valid documents, truncated ones, ones with a stray character, any string. */
const nearJson = fc.oneof(
  fc.json(),
  fc.string(),
  fc.json().map((s) => s.slice(0, -1)),
  fc
    .json()
    .chain((s) =>
      fc
        .tuple(fc.nat(s.length), fc.constantFrom('x', ',', ':', '"', '\\', '}', ']', '\n', '-', '0'))
        .map(([k, c]) => s.slice(0, k) + c + s.slice(k)),
    ),
);

describe('scanJson', () => {
  it('agrees with JSON.parse on what is valid JSON', () => {
    fc.assert(
      fc.property(nearJson, (text) => scanJson(text).ok === parses(text)),
      { numRuns: 5000 },
    );
  });

  it('finds a repeated member at any depth, compared after unescaping', () => {
    expect(scanJson('{"a":1,"b":2,"a":3}')).toEqual({ ok: true, duplicate: { key: 'a', offset: 13 } });
    expect(scanJson('{"x":{"a":1,"\\u0061":2}}')).toMatchObject({ ok: true, duplicate: { key: 'a' } });
    expect(scanJson('[{"a":1},{"a":1}]')).toEqual({ ok: true });
    expect(scanJson('{"a":{"a":1}}')).toEqual({ ok: true });
  });

  it('reports no duplicate exactly when every object keeps all its members', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c', 'd'), fc.integer())), (members) => {
        const text = `{${members.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`;
        const distinct = new Set(members.map(([k]) => k)).size === members.length;
        const scan = scanJson(text);
        return scan.ok && (scan.duplicate === undefined) === distinct;
      }),
    );
  });

  it('survives nesting far deeper than a recursive parser would', () => {
    expect(scanJson('['.repeat(100_000) + ']'.repeat(100_000)).ok).toBe(true);
  });

  it('locates an error by line and column without quoting the text', () => {
    const text = '{\n  "secret": "s3cr3t-value",\n  "x": tru\n}';
    const scan = scanJson(text);
    expect(scan.ok).toBe(false);
    if (scan.ok) return;
    expect(lineAndColumn(text, scan.offset)).toEqual({ line: 3, column: 8 });
    expect(scan.reason).not.toMatch(/s3cr3t|tru/);
  });
});
