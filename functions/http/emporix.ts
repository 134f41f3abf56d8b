import { withLegacyFields } from '../domain/storefront-responses.js';
import { isValidTenant } from '../domain/tenant.js';
import { invalidTenant } from './params.js';
import type { HttpRequest, HttpResponse } from './types.js';

/** What the Emporix paths (storefront, federation, signup) read and answer alike. */

/** The `{tenant}` path parameter, refused in the route's shape before storage is touched. */
export function tenantFrom(tenant: string | undefined): string {
  if (isValidTenant(tenant)) return tenant;
  throw invalidTenant(tenant);
}

/** RFC 6750 section 2.1: `Authorization: Bearer <token>`. */
export function bearerToken(request: HttpRequest): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
  return match?.[1];
}

/** A 200 token body, with the tenant's `legacyTokenFieldsUntil` camelCase copies (contract section 2). */
export function legacy(body: Record<string, unknown>, until: string | undefined, now: number): HttpResponse {
  const { body: withCopies, headers } = withLegacyFields(body, until, now);
  return { status: 200, headers, body: withCopies };
}
