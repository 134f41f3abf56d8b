import { JWKS_MAX_AGE_SECONDS } from '../domain/signing-keys.js';
import type { RouteHandlers } from '../http/types.js';

export interface DiscoveryOptions {
  /** The configured issuer (functions/config.ts); never derived from the request. */
  issuer: string;
  /** The public signing keys (JWK Set), once signed tokens exist. */
  publicKeys?: () => Promise<unknown[]>;
}

/** Public metadata is cacheable, unlike everything else the broker answers. */
const CACHEABLE = { 'Cache-Control': 'public, max-age=300' };
/** The JWK Set's max-age is one of the caches a signing-key rotation waits out (domain/signing-keys.ts). */
const JWKS_CACHEABLE = { 'Cache-Control': `public, max-age=${JWKS_MAX_AGE_SECONDS}` };

/**
 * `/.well-known/*`: RFC 8414 metadata that lists only what really works, and the JWK Set.
 */
export function discoveryRoutes(options: DiscoveryOptions): RouteHandlers {
  const { issuer } = options;
  return {
    'GET /.well-known/oauth-authorization-server': async () => {
      const authMethods = ['client_secret_basic', 'client_secret_post'];
      return {
        status: 200,
        headers: CACHEABLE,
        body: {
          issuer,
          token_endpoint: `${issuer}/oauth/token`,
          introspection_endpoint: `${issuer}/oauth/introspect`,
          revocation_endpoint: `${issuer}/oauth/revoke`,
          jwks_uri: `${issuer}/.well-known/jwks.json`,
          grant_types_supported: ['client_credentials'],
          // RFC 8414 section 2 requires the member; the broker has no authorization endpoint yet.
          response_types_supported: [],
          token_endpoint_auth_methods_supported: authMethods,
          introspection_endpoint_auth_methods_supported: authMethods,
          revocation_endpoint_auth_methods_supported: authMethods,
        },
      };
    },

    'GET /.well-known/jwks.json': async () => ({
      status: 200,
      headers: JWKS_CACHEABLE,
      body: { keys: options.publicKeys ? await options.publicKeys() : [] },
    }),
  };
}
