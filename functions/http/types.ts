/** The broker's view of an HTTP exchange, independent of API Gateway and of node:http. */

export interface HttpRequest {
  method: string;
  path: string;
  pathParameters: Record<string, string>;
  /** Every value of every query parameter, so duplicates can be refused. */
  query: Map<string, string[]>;
  /** Lower-case names. */
  headers: Record<string, string>;
  body: Buffer;
  requestId: string;
  /** The caller's address as API Gateway saw it; for audit events. */
  sourceIp: string;
}

export interface HttpResponse {
  status: number;
  headers?: Record<string, string>;
  /** Serialised as JSON; omitted for 204 and for a `text` answer. */
  body?: unknown;
  /** A body that is not JSON (the sign-in page's HTML), sent as it is with its own Content-Type. */
  text?: { contentType: string; content: string };
  /** `Set-Cookie` values, one per cookie (API Gateway's payload 2.0 `cookies`). */
  cookies?: string[];
}

export type RouteHandler = (request: HttpRequest) => Promise<HttpResponse>;

/** Handlers keyed by API Gateway route key, e.g. `POST /oauth/token`. */
export type RouteHandlers = Record<string, RouteHandler>;
