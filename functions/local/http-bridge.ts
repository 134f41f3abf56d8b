import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { LambdaHttpHandler } from '../http/lambda.js';
import type { Logger } from '../log.js';
import { MAX_BODY_BYTES } from '../http/params.js';
import { matchRoute, routeKey, type FunctionName } from '../http/routes.js';

/**
 * Local mode's stand-in for API Gateway: turns a node:http request into the HTTP API payload 2.0
 * event, picks the function by the shared route table (the fallback for anything else) and
 * writes back what the Lambda handler returned. `/health` is local mode's own.
 */
export function createHttpBridge(
  functions: Record<FunctionName, LambdaHttpHandler>,
  fallback: LambdaHttpHandler,
  log: Logger,
): Server {
  return createServer((req, res) => {
    void serve(req, res).catch((error: unknown) => {
      log.error('local bridge failed', { error });
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'application/json' });
      res.end('{"status":500,"type":"internal_error","message":"An unexpected error occurred."}');
    });
  });

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const target = splitTarget(req.url ?? '/');
    if (!target) {
      // Absolute-form or asterisk-form targets (RFC 9112 section 3.2): no route takes them.
      res.writeHead(400, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
      res.end('{"status":400,"type":"bad_request","message":"request target must be a path","details":[]}');
      return;
    }
    if (target.path === '/health' && req.method === 'GET') {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
      res.end('{"status":"ok"}');
      return;
    }
    const sourceIp = req.socket.remoteAddress ?? '127.0.0.1';
    const method = (req.method ?? 'GET').toUpperCase();
    // Built once from the raw headers; reading req.headers would make node build a second copy.
    const headers = gatewayHeaders(req.rawHeaders);
    if (method === 'OPTIONS' && headers['origin'] && headers['access-control-request-method']) {
      res.writeHead(204, CORS_PREFLIGHT);
      res.end();
      return;
    }
    const { body, truncated } = await readBody(req);
    const { match } = matchRoute(method, target.path);
    const event = toEvent(req, headers, sourceIp, target, method, body, match ? routeKey(match.route) : '$default', match?.pathParameters);
    const handler = match ? functions[match.route.fn] : fallback;
    const result = await handler(event);
    let responseHeaders = result.headers as Record<string, string>;
    // The rest of an oversized body was never read: close rather than drain it.
    if (truncated) responseHeaders = { ...responseHeaders, Connection: 'close' };
    if (headers['origin']) responseHeaders = { ...responseHeaders, ...CORS_RESPONSE };
    res.writeHead(result.statusCode ?? 200, responseHeaders);
    res.end(result.body ?? '');
  }
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
 */
function readBody(req: IncomingMessage): Promise<{ body: Buffer; truncated: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        req.off('data', onData);
        req.pause();
        resolve({ body: Buffer.concat(chunks).subarray(0, MAX_BODY_BYTES + 1), truncated: true });
      }
    };
    req.on('data', onData);
    req.once('end', () => resolve({ body: Buffer.concat(chunks), truncated: false }));
    req.once('error', reject);
  });
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
    ...(pathParameters && Object.keys(pathParameters).length > 0 ? { pathParameters } : {}),
    requestContext: {
      accountId: 'local',
      apiId: 'local',
      domainName: headers['host'] ?? 'localhost',
      domainPrefix: 'local',
      http: {
        method,
        path: url.path,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp,
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey: key,
      stage: '$default',
      time: gatewayTime(now),
      timeEpoch: now,
    },
    // As API Gateway does: text payloads arrive as text, anything else base64-encoded.
    ...(isText(headers['content-type']) ? { body: body.toString('utf8'), isBase64Encoded: false } : { body: body.toString('base64'), isBase64Encoded: true }),
  };
}
