import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';

/**
 * The peer: node-oidc-provider, as issue 4 fixes it: one client_secret_post client, the
 * client_credentials grant, introspection, opaque tokens, its built-in memory adapter.
 */
export const PEER_CLIENT = { id: 'bench-svc', secret: 'bench-secret-0001', scope: 'order.read' };

export async function startPeer(): Promise<{ url: string; close(): Promise<void> }> {
  const provider = new Provider('http://127.0.0.1', {
    clients: [
      {
        client_id: PEER_CLIENT.id,
        client_secret: PEER_CLIENT.secret,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'client_secret_post',
      },
    ],
    scopes: [PEER_CLIENT.scope],
    features: {
      clientCredentials: { enabled: true },
      introspection: { enabled: true, allowedPolicy: async () => true },
      devInteractions: { enabled: false },
    },
    // The broker's service-token lifetime, so both mint the same kind of token.
    ttl: { ClientCredentials: 14399 },
  });
  const server = provider.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
