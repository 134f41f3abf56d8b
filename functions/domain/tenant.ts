import type { IdentityProvider } from './federation.js';
import type { TenantMail } from './mail.js';
import type { FamilyKind, FamilyLifetimes } from './refresh-family.js';

/**
 * Tenants, their settings, and the clients registered for them. Defaults are the contract's
 * (shared/spec/operating.md, "Seed file").
 */

/** Contract: `^[a-z][a-z0-9]+$`, 3 to 16 characters. */
export const TENANT_PATTERN = /^[a-z][a-z0-9]{2,15}$/;

export function isValidTenant(tenant: unknown): tenant is string {
  return typeof tenant === 'string' && TENANT_PATTERN.test(tenant);
}

export interface Lifetimes {
  anonymousAccess: number;
  anonymousRefresh: number;
  customerAccess: number;
  customerRefresh: number;
  serviceAccess: number;
  /** Access tokens of the authorization_code and refresh_token grants (contract section 5: 300 s). */
  grantAccess: number;
  /** Refresh tokens of those grants; also their family's absolute end, counted from the code's redemption. */
  grantRefresh: number;
  /** Absolute end of an anonymous session, counted from its anonymous login; refreshes never extend it. */
  anonymousSessionMax: number;
  /** Absolute end of a customer session, counted from its customer login; refreshes never extend it. */
  customerSessionMax: number;
}

/** Which of the tenant's lifetimes each kind of refresh family uses: one row per kind. */
const FAMILY_LIFETIMES: Record<FamilyKind, Record<keyof FamilyLifetimes, keyof Lifetimes>> = {
  anonymous: { access: 'anonymousAccess', refresh: 'anonymousRefresh', sessionMax: 'anonymousSessionMax' },
  customer: { access: 'customerAccess', refresh: 'customerRefresh', sessionMax: 'customerSessionMax' },
  // Contract section 5: the family ends `grantRefresh` after the code's redemption, whatever the refreshes.
  grant: { access: 'grantAccess', refresh: 'grantRefresh', sessionMax: 'grantRefresh' },
};

/** The lifetimes of a refresh family of `kind` under these tenant settings. */
export function lifetimesOf(settings: TenantSettings, kind: FamilyKind): FamilyLifetimes {
  const { lifetimes } = settings;
  const names = FAMILY_LIFETIMES[kind];
  return { access: lifetimes[names.access], refresh: lifetimes[names.refresh], sessionMax: lifetimes[names.sessionMax] };
}

export interface TenantSettings {
  refreshGraceSeconds: number;
  /** ISO date (YYYY-MM-DD) until which login and refresh also emit the camelCase copies. */
  legacyTokenFieldsUntil?: string;
  lifetimes: Lifetimes;
  /** After a client's secret changes, its previous secret is accepted this long (operating.md). */
  secretRotationOverlapSeconds: number;
}

export const DEFAULT_LIFETIMES: Lifetimes = {
  anonymousAccess: 3599,
  anonymousRefresh: 86399,
  customerAccess: 14399,
  customerRefresh: 86399,
  serviceAccess: 14399,
  grantAccess: 300,
  grantRefresh: 2592000,
  anonymousSessionMax: 604800,
  customerSessionMax: 2592000,
};

export const DEFAULT_SETTINGS: TenantSettings = {
  refreshGraceSeconds: 10,
  lifetimes: DEFAULT_LIFETIMES,
  secretRotationOverlapSeconds: 86400,
};

export interface PartialTenantSettings {
  refreshGraceSeconds?: number;
  legacyTokenFieldsUntil?: string;
  lifetimes?: Partial<Lifetimes>;
  secretRotationOverlapSeconds?: number;
}

export function resolveSettings(partial: PartialTenantSettings | undefined): TenantSettings {
  const settings: TenantSettings = {
    refreshGraceSeconds: partial?.refreshGraceSeconds ?? DEFAULT_SETTINGS.refreshGraceSeconds,
    lifetimes: { ...DEFAULT_LIFETIMES, ...partial?.lifetimes },
    secretRotationOverlapSeconds: partial?.secretRotationOverlapSeconds ?? DEFAULT_SETTINGS.secretRotationOverlapSeconds,
  };
  if (partial?.legacyTokenFieldsUntil) settings.legacyTokenFieldsUntil = partial.legacyTokenFieldsUntil;
  return settings;
}

export interface Tenant {
  tenant: string;
  settings: TenantSettings;
  storefrontClients: string[];
  /**
   * Incident response, per storefront client: every session started at or before this second is
   * ended (its tokens refresh, validate and introspect no more). Set by the seed CLI, kept by seeds.
   */
  storefrontTokensRevokedAt?: Record<string, number>;
  /**
   * The identity providers the tenant trusts, by name (contract section 10; seed
   * `identityProviders`), without their client secrets. The stores read `{}` when none are kept
   * (a tenant seeded before issue 11). Look one up with `identityProviderOf`.
   */
  identityProviders?: Record<string, IdentityProvider>;
  /** The tenant's signup mail (seed `mail`): without it, signup is not configured (400). */
  mail?: TenantMail;
}

/** The tenant's provider of that name (a request's `config`): own properties only, so `__proto__` names nothing. */
export function identityProviderOf(tenant: Pick<Tenant, 'identityProviders'>, name: string): IdentityProvider | undefined {
  const providers = tenant.identityProviders;
  return providers !== undefined && Object.hasOwn(providers, name) ? providers[name] : undefined;
}

/** Contract section 3: `emporix` (the default) or strict RFC 6749 `oauth2`. */
export type ResponseProfile = 'emporix' | 'oauth2';

/** Contract section 9: opaque access tokens (the default) or RFC 9068 JWTs. */
export type AccessTokenFormat = 'opaque' | 'jwt';

export interface ServiceClient {
  clientId: string;
  tenant: string;
  scopes: string[];
  warmup: boolean;
  profile: ResponseProfile;
  /** Absent in clients stored before JWT access tokens existed: opaque. */
  accessTokenFormat?: AccessTokenFormat;
  /** The `aud` of its JWT access tokens; the issuer when absent (contract section 9). */
  audience?: string;
  /**
   * Incident response: every token issued to the client at or before this moment (epoch
   * seconds) is inactive, cached service tokens included. Set by the seed CLI, never by a seed.
   */
  tokensRevokedAt?: number;
}

/**
 * Whether a session of a storefront client, started at `startedAt`, was ended with all of that
 * client's tokens (contract section 3, incident response).
 */
export function revokedWithStorefrontClient(
  tenant: Pick<Tenant, 'storefrontTokensRevokedAt'>,
  clientId: string,
  startedAt: number,
): boolean {
  const revoked = tenant.storefrontTokensRevokedAt;
  return revoked !== undefined && Object.hasOwn(revoked, clientId) && startedAt <= revoked[clientId]!;
}

/** Whether a token issued to `client` at `issuedAt` was revoked with all the client's tokens. */
export function revokedWithClient(client: Pick<ServiceClient, 'tokensRevokedAt'>, issuedAt: number): boolean {
  return client.tokensRevokedAt !== undefined && issuedAt <= client.tokensRevokedAt;
}

/**
 * An app that signs customers in through the browser (contract section 8): `public` (no secret;
 * PKCE is its proof) or `confidential` (its secret lives with the service clients' secrets and
 * is checked the same way). It may use the `authorization_code` and `refresh_token` grants only.
 */
export interface AppClient {
  clientId: string;
  tenant: string;
  type: 'public' | 'confidential';
  /** Compared exactly, except that a loopback redirect URI matches on any port (RFC 8252 section 7.3). */
  redirectUris: string[];
  /** The scopes it may ask for; an authorization request without `scope` gets them all. */
  scopes: string[];
  accessTokenFormat: AccessTokenFormat;
  /** The `aud` of its JWT access tokens; the issuer when absent. */
  audience?: string;
  /** Incident response, as for service clients: every token issued at or before this second is inactive. */
  tokensRevokedAt?: number;
}

/** Which grant types each kind of client is registered for (contract section 5: else `unauthorized_client`). */
export const GRANT_TYPES_OF = {
  service: ['client_credentials'],
  app: ['authorization_code', 'refresh_token'],
} as const;
