import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { matchRoute } from '../../functions/http/route-table.js';

/** An API Gateway HTTP API (payload 2.0) event for POST /oauth/token, as AWS would deliver it. */
export function tokenRequestEvent(body: string): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: 'POST /oauth/token',
    rawPath: '/oauth/token',
    rawQueryString: '',
    headers: { 'content-type': 'application/x-www-form-urlencoded', host: 'broker.example' },
    requestContext: {
      accountId: '1',
      apiId: 'a',
      domainName: 'broker.example',
      domainPrefix: 'broker',
      http: { method: 'POST', path: '/oauth/token', protocol: 'HTTP/1.1', sourceIp: '10.0.0.1', userAgent: 'test' },
      requestId: 'req-1',
      routeKey: 'POST /oauth/token',
      stage: '$default',
      time: '',
      timeEpoch: 0,
    },
    body: Buffer.from(body).toString('base64'),
    isBase64Encoded: true,
  };
}

/** The oauth function's cold-start environment, with DynamoDB pointed at a local endpoint. */
export function oauthFunctionEnv(dynamo: { tableName: string; endpoint: string }): Record<string, string> {
  return {
    TABLE_NAME: dynamo.tableName,
    CLIENT_SECRETS_ID: 'clients',
    KEYS_SECRET_ID: 'keys',
    // JWT access tokens (contract section 9): read only when a client with JWTs asks.
    SIGNING_KEYS_SECRET_ID: 'signing',
    ISSUER: 'https://broker.example',
    AWS_REGION: 'eu-central-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
  };
}

/**
 * An API Gateway HTTP API (payload 2.0) event for any route, with the route key and path
 * parameters API Gateway would have matched (`$default` when no route matches).
 */
export function httpEvent(
  method: 'GET' | 'POST',
  target: string,
  options: { headers?: Record<string, string>; body?: string } = {},
): APIGatewayProxyEventV2 {
  const url = new URL(target, 'https://broker.example');
  const { match } = matchRoute(method, url.pathname);
  const routeKey = match ? `${match.route.method} ${match.route.path}` : '$default';
  return {
    version: '2.0',
    routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers: { host: 'broker.example', ...options.headers },
    ...(match && Object.keys(match.pathParameters).length > 0 ? { pathParameters: match.pathParameters } : {}),
    requestContext: {
      accountId: '1',
      apiId: 'a',
      domainName: 'broker.example',
      domainPrefix: 'broker',
      http: { method, path: url.pathname, protocol: 'HTTP/1.1', sourceIp: '10.0.0.1', userAgent: 'test' },
      requestId: 'req-1',
      routeKey,
      stage: '$default',
      time: '',
      timeEpoch: 0,
    },
    ...(options.body === undefined ? {} : { body: Buffer.from(options.body).toString('base64') }),
    isBase64Encoded: options.body !== undefined,
  };
}
