/**
 * Federated customers (contract section 10): the identity providers a tenant trusts, and what the
 * broker takes from them. Pure types and rules; the provider calls are an adapter's
 * (ports.ts `IdentityProviderClient`).
 */

/** How a provider's user is matched to a customer (contract section 10, operating.md). */
export type CustomerIdentifier = 'EMAIL' | 'SUBJECT';

/** One named identity provider of a tenant, as the seed configures it; its client secret is not here. */
export interface IdentityProvider {
  /** The seed's name for it: the `config` parameter (`default` when absent). */
  name: string;
  /** The only place the broker fetches from: `${issuer}/.well-known/openid-configuration` and what it names. */
  issuer: string;
  clientId: string;
  /** The redirect URI the storefront used, when a socialLogin request names none. */
  redirectUri: string;
  customerIdentifier: CustomerIdentifier;
  /** Create a customer for a provider user the broker does not know; else 404. */
  autoProvision: boolean;
  /** exchangeauthtoken: the `aud` a presented access token must carry, when set. */
  audience?: string;
  /** exchangeauthtoken: the `azp` a presented access token must carry, when set. */
  authorizedParty?: string;
  /** exchangeauthtoken: verify the access token as a JWT by the provider's JWKS, or by its introspection endpoint. */
  validation: 'jwks' | 'introspection';
}

/** The provider name a request without `config` uses. */
export const DEFAULT_PROVIDER = 'default';

/** Who the provider says the user is, after every check passed. */
export interface ExternalIdentity {
  /** The provider's issuer, exactly as configured (and as the token's `iss` said). */
  issuer: string;
  subject: string;
  /** Lower-cased and trimmed, when the provider gave one. */
  email?: string;
  /** Only a provider-verified email may find or link an existing customer (account pre-hijacking). */
  emailVerified: boolean;
}

/** What a code exchange yields: the provider's own tokens (echoed to the storefront) and the identity. */
export interface ProviderTokens {
  accessToken: string;
  idToken: string;
  identity: ExternalIdentity;
}

/** An identity linked to a customer: the provider's issuer and the user's subject there. */
export interface LinkedIdentity {
  issuer: string;
  subject: string;
}
