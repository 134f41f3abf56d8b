import { randomBytes } from 'node:crypto';
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { LambdaHttpHandler } from '../http/lambda-adapter.js';
import type { Logger } from '../log.js';
import { MAX_BODY_BYTES } from '../http/params.js';
import { matchRoute, routeKey, type FunctionName } from '../http/route-table.js';

/** What keeps the broker from serving right now, by name; empty when it can serve. */
export type Health = () => Promise<string[]>;

/**
 * Local mode's stand-in for API Gateway: turns a node:http request into the HTTP API payload 2.0
 * event, picks the function by the shared route table (the fallback for anything else) and
 * writes back what the Lambda handler returned. `/health` is local mode's own: 200 when the
 * broker can serve, else 503 naming what fails. A function not yet in `functions` answers 503.
 */
export function createHttpBridge(
  functions: Partial<Record<FunctionName, LambdaHttpHandler>>,
  fallback: LambdaHttpHandler,
  log: Logger,
  health: Health = async () => [],
): Server {
  const server = createServer((req, res) => {
    const fail = (error: unknown) => {
      log.error('local bridge failed', { error });
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'application/json' });
      res.end('{"status":500,"type":"internal_error","message":"An unexpected error occurred."}');
    };
    try {
      accept(req, res, fail);
    } catch (error) {
      fail(error);
    }
  });
  // Requests node:http cannot parse never reach the handler; answer them in JSON too (an
  // over-long header section is a 431, RFC 6585 section 5) rather than node's plain text.
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => answerClientError(error, socket));
  return server;

  /** Answers what no function serves, else reads the body and forwards the request. */
  function accept(req: IncomingMessage, res: ServerResponse, fail: (error: unknown) => void): void {
    const target = splitTarget(req.url ?? '/');
    if (!target) {
      // Absolute-form or asterisk-form targets (RFC 9112 section 3.2): no route takes them.
      res.writeHead(400, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
      res.end('{"status":400,"type":"bad_request","message":"request target must be a path","details":[]}');
      return;
    }
    if (target.path === '/health' && req.method === 'GET') {
      health().then((failing) => {
        if (failing.length === 0) {
          res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
          res.end('{"status":"ok"}');
          return;
        }
        log.warn('health check failed', { failing });
        res.writeHead(503, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', 'Retry-After': '1' });
        res.end(JSON.stringify({ status: 'unavailable', failing }));
      }, fail);
      return;
    }
    const method = (req.method ?? 'GET').toUpperCase();
    // Built once from the raw headers; reading req.headers would make node build a second copy.
    const headers = gatewayHeaders(req.rawHeaders);
    if (method === 'OPTIONS' && headers.origin && headers['access-control-request-method']) {
      res.writeHead(204, CORS_PREFLIGHT);
      res.end();
      return;
    }
    const forward = async (body: Buffer, truncated: boolean): Promise<void> => {
      const sourceIp = req.socket.remoteAddress ?? '127.0.0.1';
      const { match } = matchRoute(method, target.path);
      const event = toEvent(
        req,
        headers,
        sourceIp,
        target,
        method,
        body,
        match ? routeKey(match.route) : '$default',
        match?.pathParameters,
      );
      const handler = match ? functions[match.route.fn] : fallback;
      const result = handler ? await handler(event) : STARTING;
      const status = result.statusCode ?? 200;
      const responseBody = result.body ?? '';
      const responseHeaders: Record<string, string | number | string[]> = { ...(result.headers as Record<string, string>) };
      // As API Gateway does with payload 2.0's `cookies`: one Set-Cookie header each.
      const { cookies } = result as APIGatewayProxyStructuredResultV2;
      if (cookies && cookies.length > 0) responseHeaders['Set-Cookie'] = cookies;
      // As API Gateway does; without it node:http would frame the body as chunks (RFC 9112 section 6.3).
      if (status !== 204 && status !== 304) responseHeaders['Content-Length'] = Buffer.byteLength(responseBody);
      // The rest of an oversized body was never read: close rather than drain it.
      if (truncated) responseHeaders.Connection = 'close';
      if (headers.origin) Object.assign(responseHeaders, CORS_RESPONSE);
      res.writeHead(status, responseHeaders);
      res.end(responseBody);
    };
    readBody(req, (body, truncated) => forward(body, truncated).catch(fail), fail);
  }
}

const STARTING = {
  statusCode: 503,
  headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', 'Retry-After': '1' },
  body: '{"status":503,"type":"service_unavailable","message":"The broker is starting; retry shortly.","details":[]}',
};

function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  // The statuses node's own handler would send, each with a JSON body.
  const [status, type, message] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'request_header_fields_too_large', 'The request header fields are too large.']
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'request_timeout', 'The request did not arrive in time.']
        : [400, 'bad_request', 'The request is not valid HTTP.'];
  const body = JSON.stringify({ status, type, message, details: [] });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
      `Cache-Control: no-store\r\nConnection: close\r\n\r\n${body}`,
  );
}

/**
 * CORS as the stack's HTTP API configures it (lib/constructs/broker-api.ts), so a browser
 * storefront works against local mode as it does against AWS.
 */
const CORS_RESPONSE = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Expose-Headers': 'deprecation, sunset, retry-after',
};
const CORS_PREFLIGHT = {
  ...CORS_RESPONSE,
  'Access-Control-Allow-Methods': 'GET, POST',
  'Access-Control-Allow-Headers': 'authorization, content-type',
  'Access-Control-Max-Age': '3600',
};

function isText(contentType: string | undefined): boolean {
  return contentType !== undefined && /^\s*(text\/|application\/(json|x-www-form-urlencoded)\b)/i.test(contentType);
}

/** API Gateway's header map: lower-case names, repeated headers joined with commas. */
function gatewayHeaders(raw: string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    headers[name] = headers[name] === undefined ? raw[i + 1]! : `${headers[name]},${raw[i + 1]}`;
  }
  headers['x-forwarded-proto'] ??= 'http';
  return headers;
}

/** As API Gateway's payload 2.0 does: the Cookie header leaves the header map for `cookies`. */
function gatewayCookies(headers: Record<string, string>): { cookies: string[] } {
  const cookies = headers.cookie!.split(/;\s*/).filter((pair) => pair !== '');
  delete headers.cookie;
  return { cookies };
}

/**
 * An id shaped as HTTP API's `requestContext.requestId` is (16 characters, such as
 * `JdaKbgSPoAMEMzw=`), so that local logs are as long as AWS's: the request line measures them.
 */
function gatewayRequestId(): string {
  // One call into the CSPRNG per 512 ids: a call per request was a seventh of a cached token's CPU.
  if (idPoolOffset + ID_BYTES > idPool.length) {
    idPool = randomBytes(ID_BYTES * 512);
    idPoolOffset = 0;
  }
  const id = idPool.toString('base64', idPoolOffset, idPoolOffset + ID_BYTES);
  idPoolOffset += ID_BYTES;
  return id;
}

const ID_BYTES = 11;
let idPool = Buffer.alloc(0);
let idPoolOffset = 0;

/** requestContext.time, formatted once per second rather than once per request. */
let clockSecond = 0;
let clockText = '';
function gatewayTime(now: number): string {
  const second = Math.floor(now / 1000);
  if (second !== clockSecond) {
    clockSecond = second;
    clockText = new Date(now).toUTCString();
  }
  return clockText;
}

/**
 * Reads at most MAX_BODY_BYTES + 1 bytes: enough for the handler to see the body is too large.
 * The rest is left unread (not destroyed: the response still has to go out on this socket).
 * A callback rather than a promise: this runs for every request, and `done` is called once.
 */
function readBody(req: IncomingMessage, done: (body: Buffer, truncated: boolean) => void, failed: (error: unknown) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let settled = false;
  const settle = (outcome: () => void) => {
    if (settled) return;
    settled = true;
    outcome();
  };
  const onData = (chunk: Buffer) => {
    chunks.push(chunk);
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      req.off('data', onData);
      req.pause();
      settle(() => done(Buffer.concat(chunks).subarray(0, MAX_BODY_BYTES + 1), true));
    }
  };
  req.on('data', onData);
  // A body that arrived in one chunk (nearly all of them) is used as it is, not copied.
  req.once('end', () => settle(() => done(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks), false)));
  req.once('error', (error) => settle(() => failed(error)));
}

/**
 * The request target split as API Gateway does for rawPath and rawQueryString: as sent, with no
 * normalisation. (WHATWG URL would resolve dot segments and throws on targets such as `//`.)
 */
function splitTarget(target: string): { path: string; query: string } | undefined {
  if (!target.startsWith('/')) return undefined;
  const question = target.indexOf('?');
  return question === -1 ? { path: target, query: '' } : { path: target.slice(0, question), query: target.slice(question + 1) };
}

function toEvent(
  req: IncomingMessage,
  headers: Record<string, string>,
  sourceIp: string,
  url: { path: string; query: string },
  method: string,
  body: Buffer,
  key: string,
  pathParameters: Record<string, string> | undefined,
): APIGatewayProxyEventV2 {
  const now = Date.now();
  return {
    version: '2.0',
    routeKey: key,
    rawPath: url.path,
    rawQueryString: url.query,
    headers,
    ...(headers.cookie === undefined ? {} : gatewayCookies(headers)),
    ...(pathParameters && Object.keys(pathParameters).length > 0 ? { pathParameters } : {}),
    requestContext: {
      accountId: 'local',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: 'local',
      http: {
        method,
        path: url.path,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp,
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: gatewayRequestId(),
      routeKey: key,
      stage: '$default',
      time: gatewayTime(now),
      timeEpoch: now,
    },
    // As API Gateway does: text payloads arrive as text, anything else base64-encoded.
    ...(isText(headers['content-type'])
      ? { body: body.toString('utf8'), isBase64Encoded: false }
      : { body: body.toString('base64'), isBase64Encoded: true }),
  };
}
