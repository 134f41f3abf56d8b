/**
 * The length bounds of every identifier the broker takes from a request or a seed, in one place
 * (contract, conventions: bounded and checked before storage). DynamoDB refuses a sort key over
 * 1,024 bytes and a partition key over 2,048 with an error that would otherwise surface as a 500;
 * every bound here keeps a key far below that, whatever characters it holds.
 *
 * Lengths count UTF-16 code units (String.length); at most 3 UTF-8 bytes each, so 64 code units
 * are at most 192 bytes.
 */
export const MAX_LENGTH = {
  /** A service or storefront client id; the seed allows `[A-Za-z0-9._-]{1,64}`. */
  clientId: 64,
  /** A client secret as presented; longer than any the seed accepts. */
  clientSecret: 512,
  /** RFC 5321 section 4.5.3.1.3: a path is at most 256 octets, an address at most 254. */
  email: 254,
  /** Contract: `^[a-z][a-z0-9]+$`, 3 to 16 characters. */
  tenant: 16,
  /** A legal entity id of a customer. */
  legalEntityId: 128,
  /** A customer number (the saas_token's `sub`). */
  customerNumber: 64,
  /** One RFC 6749 scope-token. */
  scopeToken: 128,
  /** A whole scope parameter, and a client's scopes joined by spaces (the service-token cache key). */
  scope: 1000,
  /** A redirect URI an app client registers (seed) or names (authorization request). */
  redirectUri: 512,
  /** The `aud` of a client's JWT access tokens (seed), copied into every such token. */
  audience: 256,
  /**
   * An opaque token: base64url of 48 bytes is exactly 64 characters. No opaque token the broker
   * issues is longer, so a longer one without the shape of a JWT is invalid without a lookup.
   */
  token: 64,
  /**
   * The client's opaque `state` (RFC 6749 section 4.1.1), stored with the pending request and
   * echoed in the redirect: room for a signed or random value, not for a payload.
   */
  state: 1024,
  /** RFC 7636 section 4.2: an S256 challenge is exactly 43 characters; a verifier at most 128. */
  codeChallenge: 128,
  /** RFC 7636 section 4.1: 43 to 128 characters. */
  codeVerifier: 128,
  /** A `response_type` or `code_challenge_method`: short registered names (RFC 6749 section 3.1.1, RFC 7636 section 4.3). */
  parameterName: 64,
  /** A password as typed: longer than any a person types, short enough to bound scrypt's input. */
  password: 1024,
  /**
   * A JWT access token (RFC 9068, domain/access-token-jwt.ts), longer than any the broker signs:
   * every claim is bounded here (a whole scope plus ` tenant=…`, ids, a legal entity, the issuer
   * and the audience), which keeps the largest possible token near 3,000 characters
   * (test/unit/access-token-jwt.test.ts signs it). A longer one is invalid without a lookup.
   */
  jwtAccessToken: 4096,
  /** The issuer (config ISSUER): the `iss` of every JWT and the base of every metadata URL. */
  issuer: 256,
  /**
   * An identity provider's authorization code (contract section 10), passed to its token
   * endpoint: opaque, provider-defined; Auth0, Keycloak and Entra ID codes stay well below this.
   */
  externalCode: 2048,
  /**
   * A provider's access token presented to exchangeauthtoken: JWTs with
   * many claims (Entra ID group lists) reach a few kilobytes; room for those, not for a payload.
   */
  externalToken: 8192,
  /** The `nonce` a storefront sent to the provider, checked in the ID token. */
  nonce: 512,
  /** An identity provider's name in the seed (`config`): `[A-Za-z0-9._-]`. */
  providerName: 64,
} as const;

export type IdentifierKind = keyof typeof MAX_LENGTH;

/** True when `value` is longer than any valid identifier of its kind. */
export function tooLong(kind: IdentifierKind, value: string): boolean {
  return value.length > MAX_LENGTH[kind];
}
