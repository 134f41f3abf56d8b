import { PEER_CLIENT } from './peer.js';

/**
 * The broker's side of the benchmark: the peer's client, a storefront client, a customer, and
 * for the OAuth code flow (bench/round-trips.ts) a public app client with opaque access tokens,
 * one with RFC 9068 JWTs, and a service client with JWTs.
 */
export const BENCH_CUSTOMER = { email: 'bench@example.com', password: 'bench-password' };

const APP_SCOPES = ['order.read', 'profile'];

/** Public app clients (PKCE only, no secret), as a native or single-page app registers. */
export const BENCH_APPS = {
  opaque: { clientId: 'bench-app', redirectUri: 'https://app.bench.example/callback', scopes: APP_SCOPES },
  jwt: {
    clientId: 'bench-jwt-app',
    redirectUri: 'https://jwt-app.bench.example/callback',
    scopes: APP_SCOPES,
    audience: 'https://orders.bench.example',
  },
} as const;

/** A service client whose access tokens are JWTs (contract section 9), beside the peer's opaque one. */
export const BENCH_JWT_SERVICE = {
  id: 'bench-jwt-svc',
  secret: 'bench-jwt-secret-0001',
  scope: PEER_CLIENT.scope,
  audience: 'https://ledger.bench.example',
};

export function benchSeed() {
  const { opaque, jwt } = BENCH_APPS;
  return {
    tenants: {
      acme: {
        storefrontClients: ['storefront-web'],
        serviceClients: {
          [PEER_CLIENT.id]: { secret: PEER_CLIENT.secret, scopes: [PEER_CLIENT.scope], profile: 'oauth2' },
          [BENCH_JWT_SERVICE.id]: {
            secret: BENCH_JWT_SERVICE.secret,
            scopes: [BENCH_JWT_SERVICE.scope],
            profile: 'oauth2',
            accessTokenFormat: 'jwt',
            audience: BENCH_JWT_SERVICE.audience,
          },
        },
        appClients: {
          [opaque.clientId]: { type: 'public', redirectUris: [opaque.redirectUri], scopes: [...opaque.scopes] },
          [jwt.clientId]: {
            type: 'public',
            redirectUris: [jwt.redirectUri],
            scopes: [...jwt.scopes],
            accessTokenFormat: 'jwt',
            audience: jwt.audience,
          },
        },
        customers: [{ ...BENCH_CUSTOMER, customerNumber: 'C-1', legalEntities: [] }],
      },
    },
  };
}
