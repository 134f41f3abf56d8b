import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { MethodNotAllowed, NotFound, ServiceUnavailable } from '../domain/errors.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { type RequestContext, withRequestContext } from '../request-context.js';
import { errorResponse } from './errors.js';
import { matchRoute, shapeOf } from './route-table.js';
import type { HttpRequest, HttpResponse, RouteHandlers } from './types.js';

export type LambdaHttpHandler = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;

/** Sent with every answer unless a route sets its own: tokens must never be cached (RFC 6749 5.1). */
const NO_STORE = { 'Cache-Control': 'no-store', Pragma: 'no-cache' };

/**
 * Turns route handlers into an API Gateway (HTTP API, payload 2.0) Lambda handler. This is the
 * one place requests are decoded, errors become responses (by the route shape's table in
 * errors.ts; anything unexpected is logged and answered with a generic 500) and requests are
 * logged; local mode runs exactly this code. A request for a route this function does not
 * serve (API Gateway's `$default` route) is answered with a JSON 404 or 405.
 *
 * Each request is one log line (`requestLine`); the function instance's counters (`metrics`,
 * metrics.ts) are written after a request when a minute has passed since they last were.
 */
export function lambdaHttpHandler(handlers: RouteHandlers, log: Logger, metrics?: Metrics): LambdaHttpHandler {
  return async (event) => {
    const started = Date.now();
    const request = toRequest(event);
    const context: RequestContext = { requestId: request.requestId, sourceIp: request.sourceIp, metrics };
    let response: HttpResponse;
    let route = event.routeKey;
    try {
      let handler = handlers[route];
      if (!handler) {
        route = resolveRouteKey(request);
        handler = handlers[route];
      }
      if (!handler) throw routingError(request);
      const serve = handler;
      response = await withRequestContext(context, () => serve(request));
    } catch (error) {
      response = errorResponse(error, shapeOf(request.path), (unexpected) =>
        log.error('unexpected error', { requestId: request.requestId, error: describe(unexpected) }),
      );
      if (error instanceof ServiceUnavailable) {
        metrics?.count('StoreUnavailable');
        log.warn('dependency unavailable', { requestId: request.requestId, error: describe(error) });
      }
    }
    log.info(route && handlers[route] ? route : UNROUTED, requestLine(request, context, response.status, Date.now() - started));
    metrics?.flushIfDue();
    return toResult(response);
  };
}

/** The request line's message when no route of this function matched (a 404 or 405): the route is the message otherwise. */
const UNROUTED = '$default';
/** A tenant taken from the path is the caller's text: bounded, like everything else logged from a request. */
const MAX_LOGGED_TENANT = 64;

/**
 * The one line per request (issue 14): `{"level":"info","message":"<route>","status","ms",
 * "tenant","clientId","requestId"}`, about 140 bytes. The route is the matched route's template
 * (never the path as sent, which can hold a token: the sign-up link's); the tenant and client are
 * those the use cases named (request-context.ts `noteCaller`: the authenticated client, the
 * session's storefront client), else the path's `{tenant}`; null when unknown. Never a token, a
 * secret, a password or a header.
 */
function requestLine(request: HttpRequest, context: RequestContext, status: number, ms: number): Record<string, unknown> {
  const tenant = context.tenant ?? request.pathParameters.tenant?.slice(0, MAX_LOGGED_TENANT);
  return { status, ms, tenant: tenant ?? null, clientId: context.clientId ?? null, requestId: request.requestId };
}

function resolveRouteKey(request: HttpRequest): string {
  const { match } = matchRoute(request.method, request.path);
  if (!match) return '';
  Object.assign(request.pathParameters, match.pathParameters);
  return `${match.route.method} ${match.route.path}`;
}

function routingError(request: HttpRequest): Error {
  const { allowed } = matchRoute(request.method, request.path);
  return allowed.length > 0 ? new MethodNotAllowed(request.method, request.path, allowed) : new NotFound(request.method, request.path);
}

function toRequest(event: APIGatewayProxyEventV2): HttpRequest {
  const headers: Record<string, string> = {};
  const eventHeaders = event.headers ?? {};
  for (const name in eventHeaders) {
    const value = eventHeaders[name];
    if (value !== undefined) headers[name.toLowerCase()] = value;
  }
  // Payload 2.0 moves the Cookie header into its own list (only the sign-in page reads it).
  if (event.cookies) headers.cookie = event.cookies.join('; ');
  const query = new Map<string, string[]>();
  if (event.rawQueryString) {
    for (const [name, value] of new URLSearchParams(event.rawQueryString)) {
      const values = query.get(name);
      if (values) values.push(value);
      else query.set(name, [value]);
    }
  }
  const raw = event.body ?? '';
  return {
    method: event.requestContext.http.method.toUpperCase(),
    path: event.rawPath,
    pathParameters: { ...(event.pathParameters as Record<string, string> | undefined) },
    query,
    headers,
    body: Buffer.from(raw, event.isBase64Encoded ? 'base64' : 'utf8'),
    requestId: event.requestContext.requestId,
    sourceIp: event.requestContext.http.sourceIp,
  };
}

function toResult(response: HttpResponse): APIGatewayProxyStructuredResultV2 {
  // Object.assign, not a spread merge: V8 merges two spreads and a later key ~15 times slower.
  const headers: Record<string, string> = Object.assign({}, NO_STORE, response.headers);
  if (response.body === undefined) {
    if (response.text === undefined && response.cookies === undefined) return { statusCode: response.status, headers };
    return pageResult(response, headers);
  }
  headers['Content-Type'] = 'application/json';
  return { statusCode: response.status, headers, body: JSON.stringify(response.body) };
}

/** A page (HTML) or a redirect with cookies: off the JSON routes' path, which never sets `text` or `cookies`. */
function pageResult(response: HttpResponse, headers: Record<string, string>): APIGatewayProxyStructuredResultV2 {
  const result: APIGatewayProxyStructuredResultV2 = { statusCode: response.status, headers };
  if (response.text) {
    headers['Content-Type'] = response.text.contentType;
    result.body = response.text.content;
  }
  // Payload 2.0 sends cookies in their own list: a header map can hold one Set-Cookie only.
  if (response.cookies) result.cookies = response.cookies;
  return result;
}

/** An unexpected error's name and stack frames, for the log only. */
function describe(error: unknown): unknown {
  if (error instanceof Error) {
    return { name: error.name, message: error.message, stack: error.stack?.split('\n').slice(1, 6).join('\n') };
  }
  return { name: typeof error };
}
