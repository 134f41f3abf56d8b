import {
  BatchGetItemCommand,
  ConditionalCheckFailedException,
  DynamoDBClient,
  GetItemCommand,
  InternalServerError,
  ProvisionedThroughputExceededException,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { CorruptItem } from '../../functions/adapters/dynamodb/item.js';
import { DynamoDbSessions, DynamoDbStore } from '../../functions/adapters/dynamodb/stores.js';
import { ServiceUnavailable } from '../../functions/domain/errors.js';

/**
 * What only AWS does: throttling, server errors, timeouts. The store's real behaviour is tested
 * against dynalite in the integration tests; here the SDK is mocked to inject the failures.
 */

const dynamo = mockClient(DynamoDBClient);
const store = new DynamoDbStore(new DynamoDBClient({ region: 'eu-central-1' }), 'table');
const sessions = new DynamoDbSessions(new DynamoDBClient({ region: 'eu-central-1' }), 'table');
const record = { selector: 's', hash: 'h', tenant: 'acme', clientId: 'c', scopes: ['a'], issuedAt: 1, expiresAt: 2 };
const meta = { $metadata: {} };

afterEach(() => dynamo.reset());

describe('DynamoDbStore maps AWS failures', () => {
  it('turns throttling into ServiceUnavailable (a 503 with Retry-After)', async () => {
    dynamo.on(PutItemCommand).rejects(new ProvisionedThroughputExceededException({ message: 'slow down', ...meta }));
    const error = await store.putAccessToken(record).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceUnavailable);
    expect((error as ServiceUnavailable).retryAfter).toBe(1); // rendered as Retry-After: 1 (test/unit/error-tables.test.ts)
  });

  it('turns server errors and timeouts into ServiceUnavailable', async () => {
    const timeout = Object.assign(new Error('socket timed out'), { name: 'TimeoutError' });
    dynamo
      .on(GetItemCommand)
      .rejectsOnce(new InternalServerError({ message: 'boom', ...meta }))
      .rejectsOnce(timeout);
    await expect(store.findToken('s')).rejects.toBeInstanceOf(ServiceUnavailable);
    await expect(store.getServiceClient('c')).rejects.toBeInstanceOf(ServiceUnavailable);
  });

  it('lets a ValidationException through: it is a bug, not an outage', async () => {
    dynamo.on(GetItemCommand).rejects(Object.assign(new Error('bad key'), { name: 'ValidationException' }));
    await expect(store.findToken('s')).rejects.toMatchObject({ name: 'ValidationException' });
  });

  it('makes a failed revocation condition a domain outcome, not an error', async () => {
    dynamo.on(UpdateItemCommand).rejects(new ConditionalCheckFailedException({ message: 'no', ...meta }));
    await expect(store.revokeAccessToken('s', 'h', 'acme', 5)).resolves.toBeUndefined();
  });

  it('writes a token record with its hash and TTL, never the token', async () => {
    dynamo.on(PutItemCommand).resolves({});
    await store.putAccessToken(record);
    const input = dynamo.commandCalls(PutItemCommand)[0]!.args[0].input;
    expect(input.ConditionExpression).toBe('attribute_not_exists(pk)');
    expect(input.Item).toMatchObject({ pk: { S: 'T#s' }, hash: { S: 'h' }, ttl: { N: '2' } });
  });
});

/** Items as the adapters write them (see keys.ts), to take one attribute away from. */
const S = (value: string) => ({ S: value });
const N = (value: number) => ({ N: String(value) });
const accessItem = {
  pk: S('T#sel-secret'),
  sk: S('T'),
  kind: S('access'),
  hash: S('hash-secret'),
  tenant: S('acme'),
  clientId: S('reports-svc'),
  scopes: S('a b'),
  iat: N(1),
  exp: N(2),
  ttl: N(2),
};
const familyItem = {
  pk: S('T#sel-secret'),
  sk: S('T'),
  kind: S('session'),
  sessionKind: S('anonymous'),
  tenant: S('acme'),
  clientId: S('storefront'),
  sessionId: S('session-id'),
  iat: N(1),
  ctx: S('{}'),
  accH: S('acc-hash-secret'),
  accExp: N(2),
  refH: S('ref-hash-secret'),
  refExp: N(3),
  ttl: N(3),
};
const customerItem = {
  pk: S('CUST#acme#ann@example.com'),
  sk: S('C'),
  passwordHash: S('scrypt-hash-secret'),
  customerNumber: S('C-1'),
  legalEntities: S('["LE-1"]'),
  initialPassword: { BOOL: false },
};
const without = <T extends object>(item: T, name: keyof T) => Object.fromEntries(Object.entries(item).filter(([key]) => key !== name));

/** The refusal names the partition and the attribute, and no key, id, hash or other value. */
async function expectCorrupt(read: Promise<unknown>, partition: string, attribute: string) {
  const error = await read.then(
    (value) => ({ readAs: value }),
    (e: unknown) => e,
  );
  // No domain error: the edge logs it and answers with a generic 5xx (test/integration/corrupt-items.test.ts).
  expect(error).toBeInstanceOf(CorruptItem);
  expect(error).toMatchObject({ name: 'CorruptItem', partition, attribute });
  const message = (error as Error).message;
  expect(message).toContain(partition);
  expect(message).toContain(`'${attribute}'`);
  for (const secret of ['sel-secret', 'hash-secret', 'ann@example.com', 'reports-svc', 'acme']) expect(message).not.toContain(secret);
}

describe('item decoders refuse a corrupt item loudly', () => {
  it('reads a complete item, and one without the attributes the format allows to be absent', async () => {
    dynamo.on(GetItemCommand).resolvesOnce({ Item: accessItem }).resolvesOnce({ Item: familyItem });
    expect(await store.findToken('sel-secret')).toEqual({
      kind: 'access',
      record: {
        selector: 'sel-secret',
        hash: 'hash-secret',
        tenant: 'acme',
        clientId: 'reports-svc',
        scopes: ['a', 'b'],
        issuedAt: 1,
        expiresAt: 2,
      },
    });
    // No previous access token, rotation, consumed hashes, revocation, absolute end or customer.
    expect(await sessions.findSession('sel-secret')).toEqual({
      selector: 'sel-secret',
      kind: 'anonymous',
      tenant: 'acme',
      clientId: 'storefront',
      sessionId: 'session-id',
      issuedAt: 1,
      context: {},
      access: { hash: 'acc-hash-secret', expiresAt: 2 },
      refresh: { hash: 'ref-hash-secret', expiresAt: 3 },
      consumedHashes: [],
    });
  });

  it("refuses an access token without its hash or expiry rather than reading '' or 0", async () => {
    dynamo
      .on(GetItemCommand)
      .resolvesOnce({ Item: without(accessItem, 'hash') })
      .resolvesOnce({ Item: without(accessItem, 'exp') });
    await expectCorrupt(store.findToken('sel-secret'), 'T#', 'hash');
    await expectCorrupt(store.findToken('sel-secret'), 'T#', 'exp');
  });

  it('refuses a session family without its refresh expiry, or with a previous access token and no expiry', async () => {
    dynamo
      .on(GetItemCommand)
      .resolvesOnce({ Item: without(familyItem, 'refExp') })
      .resolvesOnce({ Item: { ...familyItem, paccH: S('old-hash-secret') } })
      .resolvesOnce({ Item: without(familyItem, 'ctx') });
    await expectCorrupt(sessions.findSession('sel-secret'), 'T#', 'refExp');
    // Both are written by one rotation: one without the other is no state the broker writes.
    await expectCorrupt(store.findToken('sel-secret'), 'T#', 'paccExp');
    // A missing context was read as {} before.
    await expectCorrupt(sessions.findSession('sel-secret'), 'T#', 'ctx');
  });

  it('refuses a token item without its kind rather than treating it as unknown', async () => {
    dynamo.on(GetItemCommand).resolves({ Item: without(accessItem, 'kind') });
    await expectCorrupt(store.findToken('sel-secret'), 'T#', 'kind');
  });

  it('refuses a customer without its number, also inside the login read; one without a password hash is federated-only', async () => {
    dynamo.on(BatchGetItemCommand).resolves({ Responses: { table: [without(customerItem, 'customerNumber')] } });
    await expectCorrupt(sessions.getCustomer('acme', 'ann@example.com'), 'CUST#', 'customerNumber');
    dynamo.on(BatchGetItemCommand).resolves({ Responses: { table: [without(customerItem, 'passwordHash')] } });
    expect((await sessions.getCustomer('acme', 'ann@example.com'))?.passwordHash).toBeUndefined();
    dynamo.on(BatchGetItemCommand).resolves({ Responses: { table: [without(customerItem, 'initialPassword')] } });
    await expectCorrupt(sessions.loadLogin('sel-secret', 'acme', 'ann@example.com'), 'CUST#', 'initialPassword');
  });

  it('refuses a cached service token without its sealed token', async () => {
    dynamo
      .on(GetItemCommand)
      .resolves({ Item: { pk: S('CACHE#reports-svc'), sk: S('a b'), selector: S('sel-secret'), iat: N(1), exp: N(2) } });
    await expectCorrupt(store.getCachedServiceToken('reports-svc', 'a b'), 'CACHE#', 'sealed');
  });

  it('refuses a JSON document that does not parse, without quoting it', async () => {
    dynamo.on(GetItemCommand).resolves({ Item: { pk: S('TENANT'), sk: S('acme'), doc: S('{"settings": "sel-secret') } });
    await expectCorrupt(store.getTenant('acme'), 'TENANT', 'doc');
  });
});
