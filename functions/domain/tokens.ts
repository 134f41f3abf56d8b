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
 *
 * A JWT access token (domain/access-token-jwt.ts) is stored the same way, under a selector and as
 * the hash of the whole token; `parseToken` reads its selector from the `jti` claim.
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

/**
 * Parses a presented token without touching storage; anything malformed is `undefined`, never
 * an exception. An opaque token is exactly 64 characters; anything longer (up to
 * MAX_LENGTH.jwtAccessToken) may be a JWT access token (domain/access-token-jwt.ts).
 */
export function parseToken(token: string | undefined): ParsedToken | undefined {
  if (token === undefined) return undefined;
  if (token.length !== MAX_LENGTH.token) {
    return token.length > MAX_LENGTH.token && token.length <= MAX_LENGTH.jwtAccessToken ? parseJwtAccessToken(token) : undefined;
  }
  if (!TOKEN_PATTERN.test(token)) return undefined;
  const bytes = Buffer.from(token, 'base64url');
  const selector = bytes.subarray(0, SELECTOR_BYTES).toString('base64url');
  return { token, selector, hash: hashToken(token), generation: bytes[SELECTOR_BYTES]! };
}

/** Three base64url segments (RFC 7515 compact serialisation); no padding, no other character. */
const JWT_PATTERN = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
/** `jti` as signAccessToken writes it: the 22-character selector, a dot, 16 random characters. */
const JTI_PATTERN = /^([A-Za-z0-9_-]{22})\.[A-Za-z0-9_-]{16}$/;

/**
 * A JWT access token's selector, read from its `jti` without checking the signature: the store's
 * hash of the whole token is what decides (a token the broker did not sign, or any changed byte of
 * one it did, matches no record). Only the shape the broker signs is read: header `typ` at+jwt
 * and alg ES256 (RFC 9068 section 2.1), a canonical 16-byte selector in `jti`.
 */
function parseJwtAccessToken(token: string): ParsedToken | undefined {
  if (!JWT_PATTERN.test(token)) return undefined;
  const headerEnd = token.indexOf('.');
  const payloadEnd = token.indexOf('.', headerEnd + 1);
  const header = jsonSegment(token.slice(0, headerEnd));
  if (header?.typ !== 'at+jwt' || header.alg !== 'ES256') return undefined;
  const jti = jsonSegment(token.slice(headerEnd + 1, payloadEnd))?.jti;
  const selector = typeof jti === 'string' ? JTI_PATTERN.exec(jti)?.[1] : undefined;
  // 22 characters carry 132 bits: only one spelling of each 16-byte selector names its record.
  if (selector === undefined || Buffer.from(selector, 'base64url').toString('base64url') !== selector) return undefined;
  // A JWT is an access token, never a refresh token: it has no generation.
  return { token, selector, hash: hashToken(token), generation: 0 };
}

/** A base64url segment holding a JSON object, or undefined. */
function jsonSegment(segment: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
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
