import { PEER_CLIENT } from './peer.js';

/** The broker's side of the benchmark: the peer's client, a storefront client and a customer. */
export const BENCH_CUSTOMER = { email: 'bench@example.com', password: 'bench-password' };

export function benchSeed() {
  return {
    tenants: {
      acme: {
        storefrontClients: ['storefront-web'],
        serviceClients: {
          [PEER_CLIENT.id]: { secret: PEER_CLIENT.secret, scopes: [PEER_CLIENT.scope], profile: 'oauth2' },
        },
        customers: [{ ...BENCH_CUSTOMER, customerNumber: 'C-1', legalEntities: [] }],
      },
    },
  };
}
