import { request as httpRequest } from 'node:http';

/**
 * Shared pieces of the reliability harness (issue 4): the run size, a seeded random generator, a
 * raw HTTP client that sends exactly what it is given, and a walk over DynamoDB attribute values.
 */

/** `npm run test:reliability` sets RELIABILITY=full; `npm test` runs the same files in short form. */
export const FULL = process.env.RELIABILITY === 'full';

/** The full size, or the short one under `npm test`. */
export function size(full: number, short: number): number {
  return FULL ? full : short;
}

/** mulberry32: a small, fast, seeded generator, so every run injects the same fault stream. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function pick<T>(random: () => number, items: readonly T[]): T {
  if (items.length === 0) throw new Error('pick from an empty list');
  return items[Math.floor(random() * items.length)]!;
}

export interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/**
 * One request exactly as given: the path is sent as is (no URL normalisation, unlike fetch), any
 * method, any header, any body. A persistent agent is not used, so every case is independent.
 */
export function rawRequest(
  baseUrl: string,
  options: { method: string; path: string; headers?: Record<string, string>; body?: Buffer | string },
): Promise<RawAnswer> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const body = options.body === undefined ? undefined : Buffer.from(options.body);
    const req = httpRequest(
      {
        hostname,
        port,
        method: options.method,
        path: options.path,
        headers: { ...(options.headers ?? {}), ...(body !== undefined ? { 'content-length': String(body.length) } : {}) },
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Every string inside a DynamoDB item: S, SS, and the S/SS found recursively in L and M. */
export function attributeStrings(value: unknown, out: string[] = []): string[] {
  if (!value || typeof value !== 'object') return out;
  const attribute = value as Record<string, unknown>;
  if (typeof attribute.S === 'string') out.push(attribute.S);
  if (Array.isArray(attribute.SS)) out.push(...(attribute.SS as string[]));
  if (Array.isArray(attribute.L)) for (const element of attribute.L) attributeStrings(element, out);
  if (attribute.M && typeof attribute.M === 'object') for (const element of Object.values(attribute.M)) attributeStrings(element, out);
  return out;
}

/** A status histogram, printed in the report and asserted on. */
export class Histogram {
  readonly counts = new Map<string, number>();

  add(key: string | number): void {
    this.counts.set(String(key), (this.counts.get(String(key)) ?? 0) + 1);
  }

  keys(): string[] {
    return [...this.counts.keys()].sort();
  }

  get(key: string | number): number {
    return this.counts.get(String(key)) ?? 0;
  }

  total(): number {
    let sum = 0;
    for (const count of this.counts.values()) sum += count;
    return sum;
  }

  toJSON(): Record<string, number> {
    return Object.fromEntries([...this.counts.entries()].sort(([a], [b]) => a.localeCompare(b)));
  }
}
