import { JWKS_MAX_AGE_SECONDS } from '../domain/signing-keys.js';
import type { RouteHandlers } from '../http/types.js';
import { apiDescriptionRoutes } from '../openapi/serve.js';

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
 * `/.well-known/*`: RFC 8414 metadata that lists only what really works, and the JWK Set; and the
 * API description (`/openapi.json`, `/docs`), static like the metadata.
 */
export function discoveryRoutes(options: DiscoveryOptions): RouteHandlers {
  const { issuer } = options;
  return {
    ...apiDescriptionRoutes({ issuer, cacheControl: CACHEABLE['Cache-Control'] }),
    'GET /.well-known/oauth-authorization-server': async () => {
      // Introspection is for service clients: a secret always. Revocation also takes a public app
      // client by its client_id alone, revoking its own grants' tokens (RFC 7009 section 2.1).
      const secretMethods = ['client_secret_basic', 'client_secret_post'];
      return {
        status: 200,
        headers: CACHEABLE,
        body: {
          issuer,
          // Contract section 8: the code flow with the broker's sign-in page.
          authorization_endpoint: `${issuer}/oauth/authorize`,
          token_endpoint: `${issuer}/oauth/token`,
          introspection_endpoint: `${issuer}/oauth/introspect`,
          revocation_endpoint: `${issuer}/oauth/revoke`,
          jwks_uri: `${issuer}/.well-known/jwks.json`,
          response_types_supported: ['code'],
          // RFC 9700 section 2.1.1: PKCE with S256 from every client; `plain` is refused.
          code_challenge_methods_supported: ['S256'],
          grant_types_supported: ['client_credentials', 'authorization_code', 'refresh_token'],
          // `none`: a public app client, which PKCE proves (contract section 5).
          token_endpoint_auth_methods_supported: [...secretMethods, 'none'],
          introspection_endpoint_auth_methods_supported: secretMethods,
          revocation_endpoint_auth_methods_supported: [...secretMethods, 'none'],
          // RFC 9207: every authorization response carries `iss`.
          authorization_response_iss_parameter_supported: true,
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
