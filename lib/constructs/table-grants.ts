import {
  APP_CLIENT_PK,
  AUTHORIZATION_PREFIX,
  CACHE_PREFIX,
  CLIENT_PK,
  CUSTOMER_PREFIX,
  CUSTOMER_SESSIONS_PREFIX,
  IDENTITY_PREFIX,
  MAIL_GATE_PREFIX,
  OPTIN_PREFIX,
  SOURCE_PREFIX,
  JWKS_PK,
  LOCK_PREFIX,
  TENANT_PK,
  TOKEN_PREFIX,
  type FixedPartition,
  type PartitionPrefix,
} from '../../functions/adapters/dynamodb/keys.js';
import type { FunctionName } from '../../functions/http/route-table.js';

/** Every function the stack deploys: the routed ones, the `$default` fallback and the warm-up. */
export type BrokerFunctionName = FunctionName | 'fallback' | 'warmup';

/** The DynamoDB actions the broker's code issues. Scan is not among them and never may be. */
export type TableAction = 'GetItem' | 'BatchGetItem' | 'Query' | 'PutItem' | 'UpdateItem' | 'DeleteItem';

/**
 * A partition key the grant covers, as an IAM string pattern: an exact key (`TENANT`) or a prefix
 * followed by `*` (`T#*`). Both come from the adapter's keys.ts, the one place the code builds
 * keys, so the policy and the code cannot name different partitions.
 */
export type KeyPattern = FixedPartition | `${PartitionPrefix}*`;

const anyIn = <P extends PartitionPrefix>(prefix: P): `${P}*` => `${prefix}*`;
const TOKENS = anyIn(TOKEN_PREFIX);
const CACHED_TOKENS = anyIn(CACHE_PREFIX);
const CUSTOMERS = anyIn(CUSTOMER_PREFIX);
const LOGIN_ATTEMPTS = anyIn(LOCK_PREFIX);
const CUSTOMER_SESSIONS = anyIn(CUSTOMER_SESSIONS_PREFIX);
const AUTHORIZATIONS = anyIn(AUTHORIZATION_PREFIX);
const IDENTITIES = anyIn(IDENTITY_PREFIX);
const OPT_INS = anyIn(OPTIN_PREFIX);
const MAIL_GATES = anyIn(MAIL_GATE_PREFIX);
const SOURCE_COUNTERS = anyIn(SOURCE_PREFIX);

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
 * never see customers, login counters or the JWKS (a code carries the customer it speaks for, so
 * its redemption reads no customer); authorize (the sign-in page) touches no token
 * record, only app clients, customers, their attempt counters and the authorization records.
 * The federation function is the one exception to "only the seed writes `CUST#`": it creates
 * password-less customers (conditional on a new email) and deletes pending signups (conditional
 * on `pending`); it never reads or writes login counters, and writes no password hash.
 */
export const TABLE_GRANTS: Readonly<Record<BrokerFunctionName, TableGrant>> = {
  oauth: {
    // Token records and sessions (introspection reaches both), cached tokens, the directory (app
    // clients included), the authorization record a code names.
    GetItem: [TOKENS, CACHED_TOKENS, TENANT_PK, CLIENT_PK, APP_CLIENT_PK, AUTHORIZATIONS],
    // A code's redemption writes a grant family and its entry in the customer's session index.
    PutItem: [TOKENS, CACHED_TOKENS, CUSTOMER_SESSIONS],
    // Revocation of an access token or a session family; a grant family's refresh; a code's redemption.
    UpdateItem: [TOKENS, AUTHORIZATIONS],
    // A revoked cached token leaves the cache.
    DeleteItem: [CACHED_TOKENS],
  },
  storefront: {
    GetItem: [TOKENS, TENANT_PK],
    // Login reads session, customer and failure count in one round trip.
    BatchGetItem: [TOKENS, CUSTOMERS, LOGIN_ATTEMPTS],
    // New session families, and the index of a customer's sessions.
    PutItem: [TOKENS, CUSTOMER_SESSIONS],
    // Refresh, logout, revocation; the login attempt counter.
    UpdateItem: [TOKENS, LOGIN_ATTEMPTS],
    DeleteItem: [LOGIN_ATTEMPTS],
  },
  authorize: {
    // The app client and its tenant (cached); the pending request, read before any attempt is spent.
    GetItem: [TENANT_PK, APP_CLIENT_PK, AUTHORIZATIONS],
    // The customer (a one-key batch read, as login's re-read), and the attempt counter when a
    // reservation is refused (how long to wait). One key per batch, so one statement covers both.
    BatchGetItem: [CUSTOMERS, LOGIN_ATTEMPTS],
    // A new pending request; a code's entry in the customer's session index (ended with them).
    PutItem: [AUTHORIZATIONS, CUSTOMER_SESSIONS],
    // The code's conditional write; the login attempt counter shared with the storefront login.
    UpdateItem: [AUTHORIZATIONS, LOGIN_ATTEMPTS],
    DeleteItem: [LOGIN_ATTEMPTS],
  },
  federation: {
    // The tenant (its identity providers, cached); the anonymous session.
    GetItem: [TOKENS, TENANT_PK],
    // The identity's link and the customer under its email in one batch; the re-read of the customer.
    BatchGetItem: [CUSTOMERS, IDENTITIES],
    // The customer family and its index entry; a provisioned customer; a link (all but the
    // family's index conditional on a new key, or a stale link's customer number).
    PutItem: [TOKENS, CUSTOMER_SESSIONS, CUSTOMERS, IDENTITIES],
    // The new family revoked when the customer changed during the login; its legal entities.
    UpdateItem: [TOKENS],
    // A pending signup discarded (conditional on `pending`).
    DeleteItem: [CUSTOMERS],
  },
  signup: {
    // The tenant (its mail settings, cached); the anonymous session.
    GetItem: [TOKENS, TENANT_PK],
    // A link's lookup (a one-key batch read).
    BatchGetItem: [OPT_INS],
    // The pending customer (conditional on a new email or an expired signup, so never over an
    // account), a link's lookup, the mail gate (conditional); the customer family and its index entry.
    PutItem: [CUSTOMERS, OPT_INS, MAIL_GATES, TOKENS, CUSTOMER_SESSIONS],
    // The link replaced and the confirmation (both conditional on `pending`); the per-source counter.
    UpdateItem: [CUSTOMERS, SOURCE_COUNTERS],
    // The mail gate opened again after a mail that could not be sent.
    DeleteItem: [MAIL_GATES],
  },
  discovery: {
    GetItem: [JWKS_PK],
  },
  warmup: {
    // The clients marked for warm-up live in the CLIENT partition.
    Query: [CLIENT_PK],
    GetItem: [CACHED_TOKENS, TENANT_PK],
    PutItem: [TOKENS, CACHED_TOKENS],
  },
  fallback: {},
};
