import { DynamoDBClient, GetItemCommand, ProvisionedThroughputExceededException, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { mockClient, type AwsStub } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../functions/config.js';
import { FLUSH_INTERVAL_MS } from '../../functions/metrics.js';
import { checkEmf, type EmfDocument, sumMetrics } from '../support/emf.js';
import { postForm, startTestBroker, type TestBroker } from '../support/local-broker.js';
import { TEST_SECRETS } from '../support/seed.js';

/**
 * Store faults over HTTP: throttling is something only AWS does, so the SDK is stubbed (for the
 * running local broker's client too) after the broker has started on dynalite.
 */

let broker: TestBroker;
let dynamo: AwsStub<any, any, any>;
const request = { grant_type: 'client_credentials', client_id: 'reports-svc', client_secret: TEST_SECRETS.reports };
const throttled = () => new ProvisionedThroughputExceededException({ message: 'Rate exceeded', $metadata: {} });

beforeAll(async () => {
  broker = await startTestBroker();
  // Warm the directory and secrets caches while the store still answers.
  expect((await postForm(`${broker.url}/oauth/token`, request)).status).toBe(200);
});

afterEach(() => dynamo?.restore());
afterAll(() => broker.stop());

async function expectUnavailable(response: Response) {
  expect(response.status).toBe(503);
  expect(response.headers.get('retry-after')).toBe('1');
  const body = await response.json();
  expect(body).toEqual({ error: 'temporarily_unavailable', error_description: 'The service is temporarily unavailable; retry shortly.' });
}

describe('when DynamoDB fails', () => {
  it("serves a warm instance's cached token from memory while its near copy is fresh", async () => {
    dynamo = mockClient(DynamoDBClient);
    dynamo.on(GetItemCommand).rejects(throttled());
    expect((await postForm(`${broker.url}/oauth/token`, request)).status).toBe(200);
    expect(dynamo.commandCalls(GetItemCommand)).toHaveLength(0);
  });

  it('answers 503 with Retry-After and logs the request id', async () => {
    // Past the near cache's bound: the cached token must be read from the table, which fails.
    broker.clock.advance(DEFAULTS.serviceTokenNearCacheSeconds);
    dynamo = mockClient(DynamoDBClient);
    dynamo.on(GetItemCommand).rejects(throttled());
    const before = broker.logLines.length;
    await expectUnavailable(await postForm(`${broker.url}/oauth/token`, request));
    const logged = broker.logLines.slice(before).map((line) => JSON.parse(line) as Record<string, unknown>);
    const warning = logged.find((line) => line.message === 'dependency unavailable');
    expect(warning).toMatchObject({ level: 'warn', requestId: expect.stringMatching(/^[A-Za-z0-9+/]{15}=$/) });
    // The request's one line: its route, the 503, and whom it was for.
    expect(logged.find((line) => line.message === 'POST /oauth/token')).toMatchObject({
      level: 'info',
      status: 503,
      tenant: 'acme',
      clientId: 'reports-svc',
      requestId: warning!.requestId,
    });
  });

  it('returns no token whose record could not be written', async () => {
    dynamo = mockClient(DynamoDBClient);
    dynamo.on(GetItemCommand).resolves({}); // a cache miss: the broker must mint
    dynamo.on(PutItemCommand).rejects(throttled());
    await expectUnavailable(await postForm(`${broker.url}/oauth/token`, { ...request, scope: 'order.order_read' }));
    expect(dynamo.commandCalls(PutItemCommand)).toHaveLength(1);
  });

  it('serves again once the store recovers', async () => {
    expect((await postForm(`${broker.url}/oauth/token`, request)).status).toBe(200);
  });

  it('counted each 503 as StoreUnavailable in the oauth metrics', async () => {
    // A minute on, the next request writes what the oauth instance counted since its first line.
    broker.clock.advance(FLUSH_INTERVAL_MS / 1000);
    expect((await postForm(`${broker.url}/oauth/token`, request)).status).toBe(200);
    const documents = broker.logLines.map((line) => JSON.parse(line) as EmfDocument).filter((line) => '_aws' in line);
    for (const doc of documents) checkEmf(doc);
    expect(sumMetrics(documents)['oauth StoreUnavailable']).toBe(2);
  });
});
