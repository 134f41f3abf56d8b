import type { Logger } from './log.js';
import { type Counter, count } from './metrics.js';
import { currentRequest, noteCaller, type RequestContext } from './request-context.js';

export { type RequestContext, withRequestContext } from './request-context.js';

/**
 * Security audit events (contract section 12): one structured log line per event, with a fixed
 * `event` name, the tenant, the client id, the source IP and the request id, and never a token,
 * secret or password. Use cases do not see HTTP requests, so the request's id and source IP
 * travel in an AsyncLocalStorage context set by the one HTTP edge (`http/lambda-adapter.ts`,
 * request-context.ts); the seed CLI runs outside any request and reports itself as the source.
 *
 * Every event passes through here, so the metrics that count them (metrics.ts; issue 14) are
 * counted here too, from the event and its fields, rather than at each of their call sites.
 */

export type AuditEvent =
  | 'client_auth_failed'
  | 'login_failed'
  | 'login_locked'
  | 'refresh_reuse_detected'
  | 'family_revoked'
  | 'token_revoked'
  | 'client_tokens_revoked'
  | 'secret_rotated'
  | 'customer_sessions_ended'
  | 'code_replayed'
  | 'authorization_refused'
  | 'authorization_code_issued'
  | 'federated_login'
  | 'signup_created'
  | 'signup_confirmed';

/** What an event is about. Identifiers only: never a token, secret, password or email's password. */
export interface AuditFields {
  tenant?: string | undefined;
  clientId?: string | undefined;
  /** Further identifiers (a session id, a customer's email, a count); never credentials. */
  [field: string]: string | number | boolean | undefined;
}

/** Outside a request (the seed CLI, the warm-up) the source is named by the caller, or `internal`. */
const NO_REQUEST: RequestContext = { requestId: 'none', sourceIp: 'internal' };

/** The events that are one count of a metric each. */
const COUNTED: Partial<Record<AuditEvent, Counter>> = {
  client_auth_failed: 'ClientAuthFailures',
  login_failed: 'LoginsFailed',
  login_locked: 'LoginsLocked',
  refresh_reuse_detected: 'RefreshReuseDetected',
  family_revoked: 'FamiliesRevoked',
};

export function audit(log: Logger, event: AuditEvent, fields: AuditFields = {}): void {
  const { requestId, sourceIp } = currentRequest() ?? NO_REQUEST;
  const { tenant, clientId, ...rest } = fields;
  log.warn('audit', { event, tenant: tenant ?? null, clientId: clientId ?? null, sourceIp, requestId, ...dropUndefined(rest) });
  noteCaller(tenant, clientId);
  countEvent(event, fields);
}

function countEvent(event: AuditEvent, fields: AuditFields): void {
  const counter = COUNTED[event];
  if (counter) count(counter);
  // A revoked refresh token (RFC 7009) ends its family; a customer's sessions end together.
  else if (event === 'token_revoked' && fields.kind !== 'service') count('FamiliesRevoked');
  else if (event === 'customer_sessions_ended' && typeof fields.sessions === 'number' && fields.sessions > 0) {
    count('FamiliesRevoked', fields.sessions);
  }
}

function dropUndefined(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
}
