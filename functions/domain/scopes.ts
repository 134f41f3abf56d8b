import { InvalidScope } from './errors.js';
import { MAX_LENGTH } from './identifiers.js';

/** RFC 6749 section 3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ). */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

/**
 * The scopes to grant for a request: all of the client's when none are requested, else the
 * requested ones, each of which the client must hold (contract section 3: `invalid_scope`).
 * The result is sorted and de-duplicated, so equal requests yield equal grants.
 */
export function grantScopes(requested: string | undefined, clientScopes: readonly string[]): string[] {
  if (requested === undefined || requested.trim() === '') return canonical(clientScopes);
  if (requested.length > MAX_LENGTH.scope) throw new InvalidScope(`scope is longer than ${MAX_LENGTH.scope} characters`);
  const asked = requested.split(' ').filter((s) => s !== '');
  for (const scope of asked) {
    if (!SCOPE_TOKEN.test(scope)) throw new InvalidScope('scope is malformed');
    if (!clientScopes.includes(scope)) {
      throw new InvalidScope(`scope ${scope} is not granted to this client`);
    }
  }
  return canonical(asked);
}

/** The wire scope of a tenant-bound token: the granted scopes plus `tenant=T`. */
export function scopeString(granted: readonly string[], tenant: string): string {
  return granted.length === 0 ? `tenant=${tenant}` : `${granted.join(' ')} tenant=${tenant}`;
}

function canonical(scopes: readonly string[]): string[] {
  // One scope is the common request: it is already canonical.
  return scopes.length < 2 ? [...scopes] : [...new Set(scopes)].sort();
}
