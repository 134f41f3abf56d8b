import { DEFAULTS } from '../../functions/config.js';
import { QueryCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postForm, startTestBroker, type TestBroker } from '../support/local-broker.js';
import { TEST_SECRETS } from '../support/seed.js';

/**
 * A corrupt item over HTTP: an item missing a required attribute is no state the broker writes,
 * so reading it is an unexpected error (logged, generic 5xx), never a value read as '' or 0.
 */

let broker: TestBroker;
const request = { grant_type: 'client_credentials', client_id: 'reports-svc', client_secret: TEST_SECRETS.reports };

beforeAll(async () => {
  broker = await startTestBroker();
});

afterAll(() => broker.stop());

describe('a corrupt item', () => {
  it('is refused with a generic 500 and logged by partition and attribute, not served', async () => {
    const first = await postForm(`${broker.url}/oauth/token`, request);
    expect(first.status).toBe(200);
    const { access_token: token } = (await first.json()) as { access_token: string };

    // The cached service token loses its sealed copy.
    const cached = await broker.dynamoClient.send(
      new QueryCommand({
        TableName: 'token-broker',
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': { S: 'CACHE#reports-svc' } },
      }),
    );
    const [entry, ...others] = cached.Items ?? [];
    expect(entry && others).toEqual([]);
    const key = { pk: entry?.pk ?? { S: '' }, sk: entry?.sk ?? { S: '' } };
    await broker.dynamoClient.send(new UpdateItemCommand({ TableName: 'token-broker', Key: key, UpdateExpression: 'REMOVE sealed' }));

    // Past the near cache's bound, so the instance reads the item instead of its copy in memory.
    broker.clock.advance(DEFAULTS.serviceTokenNearCacheSeconds);
    const before = broker.logLines.length;
    const second = await postForm(`${broker.url}/oauth/token`, request);
    expect(second.status).toBe(500);
    expect(await second.json()).toMatchObject({ error: 'server_error' });

    const logged = broker.logLines.slice(before).join('\n');
    expect(logged).toContain('CorruptItem');
    expect(logged).toContain("corrupt CACHE# item: required attribute 'sealed'");
    // Neither the token nor the client's secret reaches the log.
    expect(logged).not.toContain(token);
    expect(logged).not.toContain(TEST_SECRETS.reports);
  });
});
