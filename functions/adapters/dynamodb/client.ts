import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';

/**
 * The one place that configures the DynamoDB client the broker's handlers use, on AWS and in
 * local mode alike, so a change to what a call costs is measured once and holds everywhere.
 * Where the table is (`endpoint`, `region`, `credentials`) and the call budget (`maxAttempts`,
 * timeouts) are the caller's; everything else about the client is decided here.
 */
export interface DynamoDbClientOptions {
  endpoint?: string;
  region?: string;
  credentials?: DynamoDBClientConfig['credentials'];
  maxAttempts?: number;
  /** Milliseconds to connect and to answer (a call past `requestTimeout` fails, and is retried); undefined: no bound. */
  connectionTimeout?: number;
  requestTimeout?: number;
}

/**
 * What the factory changes from the SDK's defaults, in the order bench/sdk-call.ts measures them
 * (each step on top of the ones before). The bench passes a prefix of this list to see what each
 * step buys; the broker always gets all of them.
 *
 * Measured by `npx tsx bench/sdk-call.ts` (client CPU µs per call, dynalite in a child process,
 * 2 shared cores under load, so ±15 % between runs; GetItem / conditional UpdateItem):
 *   SDK defaults 582 / 697, broker client 418 / 538 (0.72 / 0.77); raw keep-alive HTTP 76 / 146.
 *   Without the network (the SDK's own CPU, which is what these options reach): 294 / 298 -> 149 / 141.
 *   Steps, µs saved over 3-5 runs: cacheMiddleware 70-100, unusedMiddleware 35-105,
 *   accountIdEndpointMode within noise (kept: no account-ID endpoint lookups on a call),
 *   cachedSigner 40-50.
 * Tried and left out: an explicit keep-alive agent (the SDK's default agent already keeps alive,
 * maxSockets 50; no change), a minimal request handler (20-40 µs, within noise, not worth owning
 * timeouts and errors), applyChecksum off (no change). Not reachable by options: SigV4 signing
 * (~35 µs), schema serde (~40 µs), the endpoint and retry middleware (~28 and ~17 µs).
 */
export const CLIENT_TUNING = ['cacheMiddleware', 'unusedMiddleware', 'accountIdEndpointMode', 'cachedSigner'] as const;
export type ClientTuning = (typeof CLIENT_TUNING)[number];

/**
 * Middleware the broker does not need on a call: the logger middleware formats the input and
 * output for a logger that is a no-op (it runs the schema's sensitive-data filter on both, every
 * call); the user agent is telemetry for AWS, not signed and not needed by DynamoDB; recursion
 * detection copies a Lambda trace header that only matters to services that call back.
 */
const UNUSED_MIDDLEWARE = ['loggerMiddleware', 'getUserAgentMiddleware', 'recursionDetectionMiddleware'] as const;

export function brokerDynamoDbClient(options: DynamoDbClientOptions = {}, tuning: readonly ClientTuning[] = CLIENT_TUNING): DynamoDBClient {
  const { connectionTimeout, requestTimeout, ...rest } = options;
  const on = new Set(tuning);
  const config: DynamoDBClientConfig = { ...rest };
  if (connectionTimeout !== undefined || requestTimeout !== undefined) {
    // Without throwOnRequestTimeout the SDK only logs a warning when requestTimeout passes and
    // keeps waiting: a stalled store would hold the call until the Lambda's own timeout.
    config.requestHandler = { connectionTimeout, requestTimeout, throwOnRequestTimeout: requestTimeout !== undefined };
  }
  if (on.has('cacheMiddleware')) config.cacheMiddleware = true;
  if (on.has('accountIdEndpointMode')) config.accountIdEndpointMode = 'disabled';
  const client = new DynamoDBClient(config);
  if (on.has('cacheMiddleware')) forgetResolvedHandlersOnChange(client);
  if (on.has('unusedMiddleware')) for (const name of UNUSED_MIDDLEWARE) client.middlewareStack.remove(name);
  if (on.has('cachedSigner')) reuseSigner(client);
  return client;
}

/**
 * With `cacheMiddleware` the client resolves its middleware stack once per command class and
 * ignores later changes to the stack. Tests and the bench add middleware to a running broker's
 * client (round trip counting, fault injection), so any change to the stack drops the resolved
 * handlers, and the next call resolves the stack as it now is.
 */
function forgetResolvedHandlersOnChange(client: DynamoDBClient): void {
  const stack = client.middlewareStack;
  const forget = () => {
    (client as unknown as { handlers?: unknown }).handlers = undefined;
  };
  for (const method of ['add', 'addRelativeTo', 'use', 'remove', 'removeByTag'] as const) {
    const original = stack[method].bind(stack) as (...args: unknown[]) => unknown;
    (stack as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => {
      forget();
      return original(...args);
    };
  }
}

/**
 * The SDK builds a new SigV4 signer for every call (a copy of the whole client config, a
 * constructor). The signer holds no per-call state and reads the credentials through the
 * client's credential provider on each signature, so one per signing region and service does.
 */
function reuseSigner(client: DynamoDBClient): void {
  const config = client.config as unknown as {
    signer: (authScheme?: { signingRegion?: string; signingName?: string }) => Promise<unknown>;
  };
  const make = config.signer;
  const signers = new Map<string, Promise<unknown>>();
  config.signer = (authScheme) => {
    const key = `${authScheme?.signingRegion}/${authScheme?.signingName}`;
    let signer = signers.get(key);
    if (!signer) {
      signer = make(authScheme);
      signers.set(key, signer);
      signer.catch(() => signers.delete(key));
    }
    return signer;
  };
}
