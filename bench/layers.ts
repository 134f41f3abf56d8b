/**
 * The layers under a cached service token, each as a server that answers `POST /oauth/token`
 * with the same bytes the broker sends: what node:http costs alone, what local mode's API
 * Gateway emulation adds, and what the Lambda adapter adds. The broker itself is the last layer.
 * Comparing their CPU per request shows which part of the cached path is the broker's own code.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serviceTokenBody } from '../functions/domain/service-token.js';
import { lambdaHttpHandler, type LambdaHttpHandler } from '../functions/http/lambda-adapter.js';
import { createHttpBridge } from '../functions/local/http-bridge.js';
import { silentLogger } from '../functions/log.js';

export const LAYERS = {
  'node-http': 'node:http alone: reads the body, writes the answer',
  bridge: '+ local mode: the API Gateway event, routing, the Lambda result written back',
  adapter: '+ the Lambda adapter: request decoding, errors, logging, JSON',
} as const;

/** What the broker itself, measured last, adds on top of the layers. */
export const BROKER_ADDS = '+ the token route: client authentication, cache read, token body';

export type Layer = keyof typeof LAYERS;

/** The bench client's cached-token answer (an `oauth2` profile client), with a placeholder token. */
const TOKEN_BODY = serviceTokenBody({ accessToken: 'x'.repeat(64), expiresIn: 14399, scope: 'order.read tenant=acme' }, 'oauth2');
const TOKEN_TEXT = JSON.stringify(TOKEN_BODY);
const TOKEN_HEADERS = { 'Cache-Control': 'no-store', Pragma: 'no-cache', 'Content-Type': 'application/json' };

export async function startLayer(layer: Layer): Promise<{ url: string; close(): Promise<void> }> {
  const server = layer === 'node-http' ? bareServer() : createHttpBridge(allFunctions(layer), constantResult, silentLogger);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function bareServer(): Server {
  return createServer((req, res) => {
    req.on('data', () => {});
    req.on('end', () => {
      res.writeHead(200, { ...TOKEN_HEADERS, 'Content-Length': Buffer.byteLength(TOKEN_TEXT) });
      res.end(TOKEN_TEXT);
    });
  });
}

const constantResult: LambdaHttpHandler = async () => ({ statusCode: 200, headers: TOKEN_HEADERS, body: TOKEN_TEXT });

function allFunctions(layer: Exclude<Layer, 'node-http'>) {
  const handler =
    layer === 'bridge'
      ? constantResult
      : lambdaHttpHandler({ 'POST /oauth/token': async () => ({ status: 200, body: { ...TOKEN_BODY } }) }, silentLogger);
  return { oauth: handler, discovery: handler, storefront: handler };
}
