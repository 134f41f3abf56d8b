/**
 * A reviver-free scan of a JSON text (RFC 8259) that `JSON.parse` cannot give: where a syntax
 * error is (without quoting the text, which may hold a secret), and whether an object repeats a
 * member name (JSON.parse silently keeps the last one). Iterative, so deep nesting cannot
 * overflow the stack. Pure: no I/O, no allocation per character.
 */

export type JsonScan = { ok: true; duplicate?: { key: string; offset: number } } | { ok: false; offset: number; reason: string };

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

type State = 'value' | 'firstValue' | 'key' | 'firstKey' | 'after';

export function scanJson(text: string): JsonScan {
  const n = text.length;
  let i = 0;
  let duplicate: { key: string; offset: number } | undefined;
  /** One entry per open container: the member names seen so far of an object, null for an array. */
  const stack: (Set<string> | null)[] = [];
  let state: State = 'value';

  const fail = (reason: string): JsonScan => ({ ok: false, offset: Math.min(i, n), reason });

  const skipWhitespace = () => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return;
      i++;
    }
  };

  /** From an opening quote to just past its closing quote; a reason on failure. */
  const scanString = (): string | undefined => {
    i++;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === QUOTE) {
        i++;
        return undefined;
      }
      if (c < 0x20) return 'control character in a string';
      if (c === BACKSLASH) {
        const e = text.charCodeAt(i + 1);
        if (e === 0x75 /* u */) {
          if (!/^[0-9A-Fa-f]{4}$/.test(text.slice(i + 2, i + 6))) return 'malformed \\u escape';
          i += 6;
        } else if (e === QUOTE || e === BACKSLASH || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) {
          i += 2;
        } else {
          i++;
          return 'malformed escape';
        }
      } else {
        i++;
      }
    }
    return 'unterminated string';
  };

  const digits = (): number => {
    const start = i;
    while (i < n && text.charCodeAt(i) >= 0x30 && text.charCodeAt(i) <= 0x39) i++;
    return i - start;
  };

  const scanNumber = (): string | undefined => {
    if (text.charCodeAt(i) === 0x2d) i++;
    if (text.charCodeAt(i) === 0x30) i++;
    else if (digits() === 0) return 'malformed number';
    if (text.charCodeAt(i) === 0x2e) {
      i++;
      if (digits() === 0) return 'malformed number';
    }
    const e = text.charCodeAt(i);
    if (e === 0x65 || e === 0x45) {
      i++;
      const sign = text.charCodeAt(i);
      if (sign === 0x2b || sign === 0x2d) i++;
      if (digits() === 0) return 'malformed number';
    }
    return undefined;
  };

  for (;;) {
    skipWhitespace();
    if (state === 'value' || state === 'firstValue') {
      if (i >= n) return fail('unexpected end of input');
      const c = text.charCodeAt(i);
      if (state === 'firstValue' && c === 0x5d) {
        stack.pop();
        i++;
        state = 'after';
      } else if (c === 0x7b) {
        stack.push(new Set());
        i++;
        state = 'firstKey';
      } else if (c === 0x5b) {
        stack.push(null);
        i++;
        state = 'firstValue';
      } else if (c === QUOTE) {
        const problem = scanString();
        if (problem) return fail(problem);
        state = 'after';
      } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
        const problem = scanNumber();
        if (problem) return fail(problem);
        state = 'after';
      } else if (text.startsWith('true', i) || text.startsWith('null', i)) {
        i += 4;
        state = 'after';
      } else if (text.startsWith('false', i)) {
        i += 5;
        state = 'after';
      } else {
        return fail('unexpected character');
      }
    } else if (state === 'key' || state === 'firstKey') {
      if (i >= n) return fail('unexpected end of input');
      const c = text.charCodeAt(i);
      if (state === 'firstKey' && c === 0x7d) {
        stack.pop();
        i++;
        state = 'after';
        continue;
      }
      if (c !== QUOTE) return fail('expected a member name in double quotes');
      const start = i;
      const problem = scanString();
      if (problem) return fail(problem);
      const raw = text.slice(start + 1, i - 1);
      // A name with escapes is compared decoded: "a" and "\u0061" are the same member.
      const key = raw.includes('\\') ? (JSON.parse(text.slice(start, i)) as string) : raw;
      const seen = stack[stack.length - 1]!;
      if (seen.has(key)) duplicate ??= { key, offset: start };
      seen.add(key);
      skipWhitespace();
      if (text.charCodeAt(i) !== 0x3a) return fail(i >= n ? 'unexpected end of input' : "expected ':'");
      i++;
      state = 'value';
    } else {
      if (stack.length === 0) {
        if (i < n) return fail('unexpected content after the JSON value');
        return duplicate ? { ok: true, duplicate } : { ok: true };
      }
      if (i >= n) return fail('unexpected end of input');
      const c = text.charCodeAt(i);
      const inObject = stack[stack.length - 1] !== null;
      if (c === 0x2c) {
        i++;
        state = inObject ? 'key' : 'value';
      } else if (c === (inObject ? 0x7d : 0x5d)) {
        stack.pop();
        i++;
      } else {
        return fail(inObject ? "expected ',' or '}'" : "expected ',' or ']'");
      }
    }
  }
}

/** 1-based line and column of a character offset; lines end at LF (a CR before it counts as a column). */
export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}
