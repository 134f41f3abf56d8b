import { audit } from '../audit.js';
import { noteCaller } from '../request-context.js';
import { InvalidClient } from '../domain/errors.js';
import type { AppClient, ServiceClient } from '../domain/tenant.js';
import type { Deps } from './deps.js';

export interface ClientCredentials {
  clientId: string;
  clientSecret: string;
  /** RFC 6749 section 5.2: a failed Basic authentication answers with a Basic challenge. */
  usedBasic: boolean;
}

/** A client as presented at the token endpoint: with a secret, or a public app client without one. */
export type PresentedClient = ClientCredentials | { clientId: string; clientSecret?: undefined; usedBasic: false };

/** Who authenticated at the token endpoint: a service client or an app client (contract section 5). */
export type AuthenticatedClient = { kind: 'service'; client: ServiceClient } | { kind: 'app'; client: AppClient };

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
  noteCaller(client.tenant, client.clientId);
  return client;
}

/** The client authenticated, but not for the tenant the request names. */
export function auditWrongTenant(
  deps: Pick<Deps, 'log'>,
  client: Pick<ServiceClient, 'tenant' | 'clientId'>,
  requestedTenant: string,
): void {
  audit(deps.log, 'client_auth_failed', { tenant: client.tenant, clientId: client.clientId, reason: 'wrong_tenant', requestedTenant });
}

/**
 * Authenticates any client at the token endpoint (contract section 5). A service client and a
 * confidential app client authenticate with their secret exactly as `authenticateServiceClient`
 * does: one answer for an unknown client and a wrong secret, the secret compared either way. A
 * public app client names itself with `client_id` alone (RFC 6749 section 2.1: it cannot keep a
 * secret; PKCE proves the code is its own); one that sends a secret anyway is refused, since a
 * server that ignored it would teach the client that its "secret" protects something.
 */
export async function authenticateClient(
  deps: Pick<Deps, 'directory' | 'secrets' | 'log'>,
  presented: PresentedClient,
): Promise<AuthenticatedClient> {
  const clientId = presented.clientId;
  const fail = (reason: string, tenant?: string) => {
    audit(deps.log, 'client_auth_failed', { tenant, clientId: clientId.slice(0, MAX_LOGGED_CLIENT_ID), reason });
    return new InvalidClient('client authentication failed', presented.usedBasic);
  };
  if (presented.clientSecret === undefined) {
    const app = await deps.directory.getAppClient(clientId);
    if (app?.type === 'public') return authenticated({ kind: 'app', client: app });
    throw fail(app ? 'secret_required' : 'unknown_client', app?.tenant);
  }
  const [service, app, secretOk] = await Promise.all([
    deps.directory.getServiceClient(clientId),
    deps.directory.getAppClient(clientId),
    deps.secrets.verify(clientId, presented.clientSecret),
  ]);
  // Client ids are unique across service and app clients (the seed refuses a clash).
  if (service) {
    if (secretOk) return authenticated({ kind: 'service', client: service });
    throw fail('wrong_secret', service.tenant);
  }
  if (app?.type === 'public') throw fail('public_client_sent_secret', app.tenant);
  if (app) {
    if (secretOk) return authenticated({ kind: 'app', client: app });
    throw fail('wrong_secret', app.tenant);
  }
  throw fail('unknown_client');
}

/** The client the request is about, for its log line. */
function authenticated(caller: AuthenticatedClient): AuthenticatedClient {
  noteCaller(caller.client.tenant, caller.client.clientId);
  return caller;
}
