import { InvalidClient } from '../domain/errors.js';
import type { ServiceClient } from '../domain/tenant.js';
import type { BrokerDeps } from './deps.js';

export interface ClientCredentials {
  clientId: string;
  clientSecret: string;
  /** RFC 6749 section 5.2: a failed Basic authentication answers with a Basic challenge. */
  usedBasic: boolean;
}

/**
 * Authenticates a service client (RFC 6749 section 2.3.1). Unknown client and wrong secret give
 * the same answer, and the secret comparison runs either way so timing tells nothing.
 */
export async function authenticateServiceClient(
  deps: Pick<BrokerDeps, 'directory' | 'secrets'>,
  credentials: ClientCredentials,
): Promise<ServiceClient> {
  const [client, secretOk] = await Promise.all([
    deps.directory.getServiceClient(credentials.clientId),
    deps.secrets.verify(credentials.clientId, credentials.clientSecret),
  ]);
  if (!client || !secretOk) throw new InvalidClient('client authentication failed', credentials.usedBasic);
  return client;
}
