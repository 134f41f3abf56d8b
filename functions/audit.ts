import { AsyncLocalStorage } from 'node:async_hooks';
import type { Logger } from './log.js';

/**
 * Security audit events (contract section 12): one structured log line per event, with a fixed
 * `event` name, the tenant, the client id, the source IP and the request id, and never a token,
 * secret or password. Use cases do not see HTTP requests, so the request's id and source IP
 * travel in an AsyncLocalStorage context set by the one HTTP edge (`http/lambda-adapter.ts`); the seed
 * CLI runs outside any request and reports itself as the source.
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

export interface RequestContext {
  requestId: string;
  sourceIp: string;
}

const requestContext = new AsyncLocalStorage<RequestContext>();

/** Runs `work` with the request's id and source IP available to `audit`. */
export function withRequestContext<T>(context: RequestContext, work: () => T): T {
  return requestContext.run(context, work);
}

/** What an event is about. Identifiers only: never a token, secret, password or email's password. */
export interface AuditFields {
  tenant?: string | undefined;
  clientId?: string | undefined;
  /** Further identifiers (a session id, a customer's email, a count); never credentials. */
  [field: string]: string | number | boolean | undefined;
}

/** Outside a request (the seed CLI, the warm-up) the source is named by the caller, or `internal`. */
const NO_REQUEST: RequestContext = { requestId: 'none', sourceIp: 'internal' };

export function audit(log: Logger, event: AuditEvent, fields: AuditFields = {}): void {
  const { requestId, sourceIp } = requestContext.getStore() ?? NO_REQUEST;
  const { tenant, clientId, ...rest } = fields;
  log.warn('audit', { event, tenant: tenant ?? null, clientId: clientId ?? null, sourceIp, requestId, ...dropUndefined(rest) });
}

function dropUndefined(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
}
