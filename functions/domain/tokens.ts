import { hash, randomBytes, timingSafeEqual } from 'node:crypto';
import { MAX_LENGTH } from './identifiers.js';

/**
 * Opaque tokens are split tokens: base64url(selector ‖ verifier).
 *
 * The 128-bit selector names the stored record (its key); the 256-bit verifier is never stored.
 * The record keeps only SHA-256 of the whole token, so a read of the table yields no usable
 * token, and a lookup is a single GetItem by key. Several tokens can share one selector: all
 * tokens of one refresh family do, which lets a refresh be one conditional write to one item.
 *
 * A refresh token's first verifier byte is its generation in the family (mod 256), so the
 * family can remember its recently consumed tokens in fixed slots without reading first; the
 * other 248 bits stay random.
 */

const SELECTOR_BYTES = 16;
const VERIFIER_BYTES = 32;
/** base64url of 48 bytes is exactly 64 characters, with no padding. */
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{64}$/;

export interface ParsedToken {
  token: string;
  selector: string;
  hash: string;
  /** The first verifier byte: a refresh token's generation; random in any other token. */
  generation: number;
}

export function newSelector(): string {
  return randomBytes(SELECTOR_BYTES).toString('base64url');
}

/** A new token under `selector` (a fresh one when omitted), tagged with `generation` if given. */
export function mintToken(selector: string = newSelector(), generation?: number): ParsedToken {
  const selectorBytes = Buffer.from(selector, 'base64url');
  if (selectorBytes.length !== SELECTOR_BYTES) throw new Error('selector must be 16 bytes');
  const verifier = randomBytes(VERIFIER_BYTES);
  if (generation !== undefined) verifier[0] = generation & 0xff;
  const token = Buffer.concat([selectorBytes, verifier]).toString('base64url');
  return { token, selector, hash: hashToken(token), generation: verifier[0]! };
}

/** Parses a presented token without touching storage; anything malformed is `undefined`. */
export function parseToken(token: string | undefined): ParsedToken | undefined {
  // Longer than any token the broker issues: invalid, and never looked up.
  if (token === undefined || token.length !== MAX_LENGTH.token || !TOKEN_PATTERN.test(token)) return undefined;
  const bytes = Buffer.from(token, 'base64url');
  const selector = bytes.subarray(0, SELECTOR_BYTES).toString('base64url');
  return { token, selector, hash: hashToken(token), generation: bytes[SELECTOR_BYTES]! };
}

export function hashToken(token: string): string {
  return hash('sha256', token, 'base64url');
}

/** Constant-time comparison of two base64url SHA-256 digests (or any equal-length strings). */
export function sameHash(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
