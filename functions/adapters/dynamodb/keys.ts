import type { AttributeValue } from '@aws-sdk/client-dynamodb';

/**
 * Every key of the broker's one table, defined once. The adapters build keys only here, and
 * lib/constructs/table-grants.ts builds its IAM `dynamodb:LeadingKeys` patterns from the same
 * constants, so the code and the policy cannot drift apart. This module imports no runtime code:
 * the CDK app loads it.
 *
 * | item                 | pk                          | sk           | ttl                        | file         |
 * |----------------------|-----------------------------|--------------|----------------------------|--------------|
 * | tenant settings      | `TENANT`                    | tenant       | –                          | directory.ts |
 * | service client       | `CLIENT`                    | client id    | –                          | directory.ts |
 * | app client           | `APPCLIENT`                 | client id    | –                          | directory.ts |
 * | authorization        | `AUTHZ#<selector>`          | `A`          | end of the request or code | authorizations.ts |
 * | access token record  | `T#<selector>`              | `T`          | its expiry                 | tokens.ts    |
 * | session family       | `T#<selector>`              | `T`          | last expiry of its tokens  | families.ts  |
 * | cached service token | `CACHE#<client id>`         | scope key    | its expiry                 | tokens.ts    |
 * | customer             | `CUST#<tenant>#<email>`     | `C`          | –                          | customers.ts |
 * | login attempts       | `LOCK#<tenant>#<email>`     | `L`          | end of the attempt window  | customers.ts |
 * | customer's sessions  | `CSESS#<tenant>#<email>`    | `<selector>` | the family's end           | customers.ts |
 * | linked identity      | `IDENT#<tenant>#<digest>`   | `I`          | –                          | customers.ts |
 * | seeded customers     | `SEED#CUSTOMERS`            | `<tenant>`   | –                          | customers.ts |
 * | public keys          | `JWKS`                      | `K`          | –                          | public-keys.ts |
 * | opt-in link lookup   | `OPTIN#<selector>`          | `O`          | the link's expiry (24 h)   | signups.ts   |
 * | mail gate            | `MAILGATE#<tenant>#<email>` | `M`          | its `until`                | signups.ts   |
 * | signups per source   | `SRC#<source ip>`           | `W<window>`  | the window's end           | signups.ts   |
 *
 * An access token and a session family share `T#<selector>` (`kind` tells them apart), so any
 * presented token is one GetItem away. Token attributes hold SHA-256 hashes only.
 */

/** The partitions with one fixed key. */
export const TENANT_PK = 'TENANT';
export const CLIENT_PK = 'CLIENT';
/** App clients (contract section 8): their own partition, so no service-client reader sees them. */
export const APP_CLIENT_PK = 'APPCLIENT';
export const JWKS_PK = 'JWKS';
/** Written and read by the seed CLI only. */
export const SEEDED_CUSTOMERS_PK = 'SEED#CUSTOMERS';

/** The partitions keyed by a prefix and an id. */
export const TOKEN_PREFIX = 'T#';
export const CACHE_PREFIX = 'CACHE#';
export const CUSTOMER_PREFIX = 'CUST#';
export const LOCK_PREFIX = 'LOCK#';
/** Its own prefix, not inside CUST#: the storefront function writes it and must not write hashes. */
export const CUSTOMER_SESSIONS_PREFIX = 'CSESS#';
/** A pending authorization request and the code it becomes (domain/authorization.ts). */
export const AUTHORIZATION_PREFIX = 'AUTHZ#';
/**
 * An external identity linked to a customer (contract section 10): the digest of its issuer and
 * subject (domain/federated-customers.ts `identityDigest`), naming the customer's email.
 */
export const IDENTITY_PREFIX = 'IDENT#';
/** Signup with double opt-in (contract section 11): a link's token selector → tenant and email. */
export const OPTIN_PREFIX = 'OPTIN#';
/** One mail a minute per address. */
export const MAIL_GATE_PREFIX = 'MAILGATE#';
/** Signup and resend requests per source IP and window. */
export const SOURCE_PREFIX = 'SRC#';

export type FixedPartition = typeof TENANT_PK | typeof CLIENT_PK | typeof APP_CLIENT_PK | typeof JWKS_PK | typeof SEEDED_CUSTOMERS_PK;
export type PartitionPrefix =
  | typeof TOKEN_PREFIX
  | typeof CACHE_PREFIX
  | typeof CUSTOMER_PREFIX
  | typeof LOCK_PREFIX
  | typeof CUSTOMER_SESSIONS_PREFIX
  | typeof AUTHORIZATION_PREFIX
  | typeof IDENTITY_PREFIX
  | typeof OPTIN_PREFIX
  | typeof MAIL_GATE_PREFIX
  | typeof SOURCE_PREFIX;

const FIXED_PARTITIONS: readonly FixedPartition[] = [TENANT_PK, CLIENT_PK, APP_CLIENT_PK, JWKS_PK, SEEDED_CUSTOMERS_PK];
const PARTITION_PREFIXES: readonly PartitionPrefix[] = [
  TOKEN_PREFIX,
  CACHE_PREFIX,
  CUSTOMER_PREFIX,
  LOCK_PREFIX,
  CUSTOMER_SESSIONS_PREFIX,
  AUTHORIZATION_PREFIX,
  IDENTITY_PREFIX,
  OPTIN_PREFIX,
  MAIL_GATE_PREFIX,
  SOURCE_PREFIX,
];

/**
 * Which partition a key belongs to, without its id (`T#`, `CUST#`, `TENANT`): safe to log, since
 * the id may be a selector or an email address. `unknown` for a key outside the table's layout or
 * an item read without its key.
 */
export function partitionOf(pk: string | undefined): FixedPartition | PartitionPrefix | 'unknown' {
  if (pk === undefined) return 'unknown';
  return FIXED_PARTITIONS.find((fixed) => pk === fixed) ?? PARTITION_PREFIXES.find((prefix) => pk.startsWith(prefix)) ?? 'unknown';
}

// --- key builders ------------------------------------------------------------------------------

export type Key = { pk: AttributeValue; sk: AttributeValue };

const key = (pk: string, sk: string): Key => ({ pk: { S: pk }, sk: { S: sk } });

export const tenantKey = (tenant: string): Key => key(TENANT_PK, tenant);
export const clientKey = (clientId: string): Key => key(CLIENT_PK, clientId);
export const appClientKey = (clientId: string): Key => key(APP_CLIENT_PK, clientId);
export const authorizationKey = (selector: string): Key => key(`${AUTHORIZATION_PREFIX}${selector}`, 'A');

/** The item a token lives in, by its selector: a standalone access token or a session family. */
export const tokenKey = (selector: string): Key => key(`${TOKEN_PREFIX}${selector}`, 'T');
/** The selector in a token item's partition key. */
export const selectorOfPk = (pk: string): string => pk.slice(TOKEN_PREFIX.length);

export const cacheKey = (clientId: string, scopeKey: string): Key => key(`${CACHE_PREFIX}${clientId}`, scopeKey);

export const customerKey = (tenant: string, email: string): Key => key(`${CUSTOMER_PREFIX}${tenant}#${email}`, 'C');
/** Tenant and email from a customer's partition key (an email may hold `#`, a tenant may not). */
export function customerOfPk(pk: string): { tenant: string; email: string } {
  const [tenant = '', ...email] = pk.slice(CUSTOMER_PREFIX.length).split('#');
  return { tenant, email: email.join('#') };
}

export const lockKey = (tenant: string, email: string): Key => key(`${LOCK_PREFIX}${tenant}#${email}`, 'L');

export const customerSessionsPk = (tenant: string, email: string): string => `${CUSTOMER_SESSIONS_PREFIX}${tenant}#${email}`;
export const customerSessionKey = (tenant: string, email: string, selector: string): Key =>
  key(customerSessionsPk(tenant, email), selector);

export const identityKey = (tenant: string, digest: string): Key => key(`${IDENTITY_PREFIX}${tenant}#${digest}`, 'I');

export const optInKey = (selector: string): Key => key(`${OPTIN_PREFIX}${selector}`, 'O');
export const mailGateKey = (tenant: string, email: string): Key => key(`${MAIL_GATE_PREFIX}${tenant}#${email}`, 'M');
export const sourceCounterKey = (source: string, window: number): Key => key(`${SOURCE_PREFIX}${source}`, `W${window}`);

export const seededCustomersKey = (tenant: string): Key => key(SEEDED_CUSTOMERS_PK, tenant);

export const JWKS_KEY: Key = key(JWKS_PK, 'K');
