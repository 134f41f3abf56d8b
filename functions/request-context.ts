import { AsyncLocalStorage } from 'node:async_hooks';
import type { Metrics } from './metrics.js';

/**
 * What the one HTTP edge (`http/lambda-adapter.ts`) knows about the request being served, for the
 * code it calls that does not see the request: the audit events (audit.ts) take its id and source
 * IP from here, the counters (metrics.ts) the function instance's metrics, and the use cases note
 * here whom the request turned out to be about, for its one request log line.
 */
export interface RequestContext {
  requestId: string;
  sourceIp: string;
  /** The counters of the function instance serving the request; none outside a function (the seed CLI). */
  metrics?: Metrics | undefined;
  /** The tenant and client the request was about, once known (`noteCaller`); identifiers only. */
  tenant?: string | undefined;
  clientId?: string | undefined;
}

const requestContext = new AsyncLocalStorage<RequestContext>();

/** Runs `work` with `context` available to `audit`, the counters and `noteCaller`. */
export function withRequestContext<T>(context: RequestContext, work: () => T): T {
  return requestContext.run(context, work);
}

/** The context of the request being served, if any. */
export function currentRequest(): RequestContext | undefined {
  return requestContext.getStore();
}

/**
 * Names the tenant and client the current request is about, for its request log line. The first
 * caller to name one wins: the client that authenticated, not one named later in the request.
 */
export function noteCaller(tenant: string | undefined, clientId: string | undefined): void {
  const context = requestContext.getStore();
  if (!context) return;
  if (context.tenant === undefined && tenant !== undefined) context.tenant = tenant;
  if (context.clientId === undefined && clientId !== undefined) context.clientId = clientId;
}
