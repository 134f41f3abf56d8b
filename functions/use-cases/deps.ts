import type { JWK } from 'jose';
import type { ScryptParams } from '../domain/passwords.js';
import type { Unseal } from '../domain/seal.js';
import type { Logger } from '../log.js';
import type {
  AuthorizationStore,
  ClientSecrets,
  Clock,
  CustomerStore,
  DirectoryStore,
  IdentityProviderClient,
  KeyMaterial,
  Mailer,
  PublicKeyStore,
  SessionStore,
  SignupStore,
  SigningKeySource,
  TokenStore,
} from '../ports.js';

/**
 * Everything a use case or route table may need, as one type. Built once per cold start (AWS) or
 * per process (local) by functions/wiring.ts; each use case takes the `Pick<Deps, …>` it uses,
 * so a function is wired with only what its use cases pick (the warm-up has no `secrets`).
 */
export interface Deps {
  /** Tenants and service clients (cached, adapters/cached-directory.ts). */
  directory: DirectoryStore;
  tokens: TokenStore;
  /** Refresh families; introspection and revocation reach storefront sessions too (contract section 4). */
  sessions: SessionStore;
  customers: CustomerStore;
  /** Pending authorization requests and their codes (contract section 8). */
  authorizations: AuthorizationStore;
  /** The published public signing keys, as stored (the seed writes them). */
  publicKeys: PublicKeyStore;
  /** The public keys discovery serves: published and not past their end. */
  liveKeys: () => Promise<JWK[]>;
  secrets: ClientSecrets;
  keys: KeyMaterial;
  signingKeys: SigningKeySource;
  /** The identity providers' side of federated login (contract section 10): calls only their configured issuers. */
  identityProviders: IdentityProviderClient;
  /** Sends the signup confirmation mail (contract section 11): SES in AWS, the outbox locally (wiring.ts `mailerPart`). */
  mailer: Mailer;
  /** Pending signups, their links, the mail gate and the per-source counter (contract section 11). */
  signups: SignupStore;
  /**
   * The issuer (config ISSUER): `iss` of the JWT access tokens, and their `aud` when the client
   * names none (contract section 9). Configuration only, never the request's Host.
   */
  issuer: string;
  /** Opens a cached service token: `unseal`, or a memo around it (adapters/memoised-unseal.ts). */
  unseal: Unseal;
  /** The decoy hash's cost: that of the customers' hashes; production's (SCRYPT_PARAMS) if absent. */
  passwordHashing?: ScryptParams;
  clock: Clock;
  log: Logger;
  /** Share of a service token's life after which the cache mints a new one (0 < share ≤ 1). */
  serviceTokenReuseShare: number;
}

/**
 * Minting and caching service tokens; all the warm-up has (it authenticates nobody). The signing
 * key and the issuer sign the JWT access tokens of `accessTokenFormat: jwt` clients.
 */
export type ServiceTokenDeps = Pick<
  Deps,
  'directory' | 'tokens' | 'keys' | 'signingKeys' | 'issuer' | 'unseal' | 'clock' | 'log' | 'serviceTokenReuseShare'
>;

/**
 * The oauth routes: service tokens, client authentication, the authorization_code and
 * refresh_token grants (the authorization records), introspection and revocation.
 */
export type OAuthDeps = ServiceTokenDeps & Pick<Deps, 'secrets' | 'sessions' | 'authorizations'>;

/** The storefront routes: refresh families and customers, signed with the signing key. */
export type StorefrontDeps = Pick<Deps, 'directory' | 'sessions' | 'customers' | 'signingKeys' | 'passwordHashing' | 'clock' | 'log'>;

/** The authorize function: app clients, customers' credentials and the authorization records; no key material. */
export type AuthorizeDeps = Pick<Deps, 'directory' | 'customers' | 'sessions' | 'authorizations' | 'passwordHashing' | 'clock' | 'log'>;

/**
 * The federation function (contract section 10): the identity providers, refresh families and
 * customers (with their linked identities), signed with the signing key; no client secrets.
 */
export type FederationDeps = Pick<Deps, 'directory' | 'sessions' | 'customers' | 'signingKeys' | 'identityProviders' | 'clock' | 'log'>;

/**
 * The signup function (contract section 11): customers and pending signups, refresh families (the
 * link logs in), the signing key for the saas_token and the mailer; no client secrets, no cache key.
 */
export type SignupDeps = Pick<
  Deps,
  'directory' | 'sessions' | 'customers' | 'signups' | 'signingKeys' | 'passwordHashing' | 'mailer' | 'clock' | 'log'
>;
