/** The table's key schema, shared by the CDK stack and the local store so they cannot drift. */
export const TABLE_SCHEMA = {
  partitionKey: 'pk',
  sortKey: 'sk',
  /** Epoch seconds; DynamoDB's TTL sweeper deletes past it (eventually: expiry is checked in code). */
  ttlAttribute: 'ttl',
} as const;
