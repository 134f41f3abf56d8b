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
  /** Serialised as JSON; omitted for 204. */
  body?: unknown;
}

export type RouteHandler = (request: HttpRequest) => Promise<HttpResponse>;

/** Handlers keyed by API Gateway route key, e.g. `POST /oauth/token`. */
export type RouteHandlers = Record<string, RouteHandler>;
