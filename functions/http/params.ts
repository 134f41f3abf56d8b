import { InvalidRequest, RequestTooLarge } from '../domain/errors.js';
import { MAX_LENGTH, tooLong, type IdentifierKind } from '../domain/identifiers.js';
import { scanJson } from '../domain/json-scan.js';
import type { HttpRequest } from './types.js';

/** Larger bodies are refused before parsing; no legitimate token request comes close. */
export const MAX_BODY_BYTES = 16 * 1024;

export type Params = Record<string, string>;

/**
 * The body parameters of a form (`application/x-www-form-urlencoded`) or JSON request.
 * RFC 6749 section 3.1: a parameter must not repeat (in a form or as a JSON member), and one
 * sent without a value counts as omitted. Any other content type, a malformed body or a non-string value is a 400.
 */
export function bodyParams(request: HttpRequest): Params {
  if (request.body.length > MAX_BODY_BYTES) {
    throw new RequestTooLarge(MAX_BODY_BYTES);
  }
  const contentType = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (request.body.length === 0 && contentType === '') return {};
  if (contentType === 'application/x-www-form-urlencoded') return formParams(request.body.toString('utf8'));
  if (contentType === 'application/json') return jsonParams(request.body.toString('utf8'));
  throw new InvalidRequest('content type must be application/x-www-form-urlencoded or application/json');
}

function formParams(text: string): Params {
  const params: Params = {};
  const seen = new Set<string>();
  for (const [name, value] of new URLSearchParams(text)) {
    if (seen.has(name)) throw new InvalidRequest(`parameter ${name} is repeated`);
    seen.add(name);
    if (value !== '') params[name] = value;
  }
  return params;
}

function jsonParams(text: string): Params {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // The parser's message may quote the body, which may hold a secret: say nothing of it.
    throw new InvalidRequest('body is not valid JSON');
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new InvalidRequest('JSON body must be an object');
  }
  // JSON.parse keeps the last of repeated members; a parameter must not repeat (as in a form).
  const scan = scanJson(text);
  if (scan.ok && scan.duplicate) throw new InvalidRequest(`parameter ${scan.duplicate.key} is repeated`);
  const params: Params = {};
  for (const [name, value] of Object.entries(parsed)) {
    if (value === null || value === '') continue;
    if (typeof value !== 'string') throw new InvalidRequest(`parameter ${name} must be a string`);
    params[name] = value;
  }
  return params;
}

/** A missing or malformed tenant, refused in the route's shape before storage is touched. */
export function invalidTenant(tenant: string | undefined): InvalidRequest {
  return new InvalidRequest('tenant must match ^[a-z][a-z0-9]+$ and be 3 to 16 characters', [
    { field: 'tenant', type: tenant === undefined ? 'required' : 'invalid', message: 'malformed tenant' },
  ]);
}

/** A single query parameter; a repeated one is a 400 rather than a silent pick. */
export function queryParam(request: HttpRequest, name: string): string | undefined {
  const values = request.query.get(name);
  if (!values || values.length === 0) return undefined;
  if (values.length > 1) throw new InvalidRequest(`query parameter ${name} is repeated`);
  return values[0] === '' ? undefined : values[0];
}

/**
 * An identifier from a request, refused in the route's shape (invalid_request, or the Emporix
 * bad_request naming the field) when it is longer than any valid one (domain/identifiers.ts).
 */
export function bounded(kind: IdentifierKind, field: string, value: string): string {
  if (!tooLong(kind, value)) return value;
  const limit = `at most ${MAX_LENGTH[kind]} characters`;
  throw new InvalidRequest(`${field} is too long (${limit})`, [{ field, type: 'invalid', message: limit }]);
}
