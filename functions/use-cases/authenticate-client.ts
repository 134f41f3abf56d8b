import { audit } from '../audit.js';
import { InvalidClient } from '../domain/errors.js';
import type { ServiceClient } from '../domain/tenant.js';
import type { Deps } from './deps.js';

export interface ClientCredentials {
  clientId: string;
  clientSecret: string;
  /** RFC 6749 section 5.2: a failed Basic authentication answers with a Basic challenge. */
  usedBasic: boolean;
}

/** An audit line names the presented client id, but never more of an attacker's input than this. */
const MAX_LOGGED_CLIENT_ID = 128;

/**
 * Authenticates a service client (RFC 6749 section 2.3.1). Unknown client and wrong secret give
 * the same answer, and the secret comparison runs either way so timing tells nothing. A failure
 * is audited (`client_auth_failed`, contract section 12) with the presented client id, never the
 * presented secret.
 */
export async function authenticateServiceClient(
  deps: Pick<Deps, 'directory' | 'secrets' | 'log'>,
  credentials: ClientCredentials,
): Promise<ServiceClient> {
  const [client, secretOk] = await Promise.all([
    deps.directory.getServiceClient(credentials.clientId),
    deps.secrets.verify(credentials.clientId, credentials.clientSecret),
  ]);
  if (!client || !secretOk) {
    audit(deps.log, 'client_auth_failed', {
      tenant: client?.tenant,
      clientId: credentials.clientId.slice(0, MAX_LOGGED_CLIENT_ID),
      reason: client ? 'wrong_secret' : 'unknown_client',
    });
    throw new InvalidClient('client authentication failed', credentials.usedBasic);
  }
  return client;
}

/** The client authenticated, but not for the tenant the request names. */
export function auditWrongTenant(deps: Pick<Deps, 'log'>, client: ServiceClient, requestedTenant: string): void {
  audit(deps.log, 'client_auth_failed', { tenant: client.tenant, clientId: client.clientId, reason: 'wrong_tenant', requestedTenant });
}
