import type { FunctionName } from '../../functions/http/routes.js';

/** Every function the stack deploys: the routed ones, the `$default` fallback and the warm-up. */
export type BrokerFunctionName = FunctionName | 'fallback' | 'warmup';

/** The DynamoDB actions the broker's code issues. Scan is not among them and never may be. */
export type TableAction = 'GetItem' | 'BatchGetItem' | 'Query' | 'PutItem' | 'UpdateItem' | 'DeleteItem';

/**
 * A partition key the grant covers, as an IAM string pattern: an exact key (`TENANT`) or a prefix
 * followed by `*` (`T#*`). The item keys are listed in the README's data-model table.
 */
export type KeyPattern = 'TENANT' | 'CLIENT' | 'JWKS' | 'T#*' | 'CACHE#*' | 'CUST#*' | 'LOCK#*' | 'CSESS#*';

export type TableGrant = Readonly<Partial<Record<TableAction, readonly KeyPattern[]>>>;

/**
 * Least privilege per function: which action may touch which partition keys. Each entry becomes
 * one IAM statement on the table with `ForAllValues:StringLike` on `dynamodb:LeadingKeys`, so a
 * request is allowed only when every partition key it names matches one of the action's patterns
 * (a BatchGetItem across three prefixes therefore needs all three in its one entry).
 *
 * Never add Scan: it names no partition key, and `ForAllValues` over an empty set is true, so a
 * Scan grant would read the whole table whatever the patterns say.
 *
 * What this denies, on purpose: only the seed CLI (operator credentials) writes `TENANT`, `CLIENT`,
 * `CUST#` (password hashes) and `JWKS` (the published signing keys); discovery reads nothing but
 * `JWKS`; the storefront never reads service clients or cached service tokens; oauth and warm-up
 * never see customers, login counters or the JWKS.
 */
export const TABLE_GRANTS: Readonly<Record<BrokerFunctionName, TableGrant>> = {
  oauth: {
    // Token records and sessions (introspection reaches both), cached tokens, the directory.
    GetItem: ['T#*', 'CACHE#*', 'TENANT', 'CLIENT'],
    PutItem: ['T#*', 'CACHE#*'],
    // Revocation of an access token or a session family.
    UpdateItem: ['T#*'],
    // A revoked cached token leaves the cache.
    DeleteItem: ['CACHE#*'],
  },
  storefront: {
    GetItem: ['T#*', 'TENANT'],
    // Login reads session, customer and failure count in one round trip.
    BatchGetItem: ['T#*', 'CUST#*', 'LOCK#*'],
    // New session families, and the index of a customer's sessions.
    PutItem: ['T#*', 'CSESS#*'],
    // Refresh, logout, revocation; the login attempt counter.
    UpdateItem: ['T#*', 'LOCK#*'],
    DeleteItem: ['LOCK#*'],
  },
  discovery: {
    GetItem: ['JWKS'],
  },
  warmup: {
    // The clients marked for warm-up live in the CLIENT partition.
    Query: ['CLIENT'],
    GetItem: ['CACHE#*', 'TENANT'],
    PutItem: ['T#*', 'CACHE#*'],
  },
  fallback: {},
};
