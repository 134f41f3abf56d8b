/**
 * Client secrets and their rotation (contract section 3, operating.md "Seed file"). The one
 * stored version holds, per client, `{ current, previous?, previousUntil? }`: the previous secret
 * is accepted until `previousUntil` (epoch seconds) and refused from then on. A plain string, the
 * format before rotation windows, is read as `{ current }`. Pure rules: the adapters read and
 * write the document, the seed and the incident CLI decide what changes.
 */

export interface ClientSecretEntry {
  current: string;
  previous?: string;
  /** The previous secret is accepted while now < previousUntil. */
  previousUntil?: number;
}

/** What is stored per client: an entry, or a plain string (read as `{ current }`). */
export type StoredClientSecret = string | ClientSecretEntry;

/** Client id → its secrets, as the current version of the client-secrets secret holds them. */
export type ClientSecretsDocument = Record<string, StoredClientSecret>;

export function entryOf(stored: StoredClientSecret): ClientSecretEntry {
  return typeof stored === 'string' ? { current: stored } : stored;
}

/**
 * Checks a parsed JSON object. Errors name the client and the field, never a value (it is a
 * secret). A client id such as `__proto__` is kept as an own key.
 */
export function parseClientSecretsDocument(value: Record<string, unknown>, source: string): ClientSecretsDocument {
  const document: ClientSecretsDocument = {};
  for (const [clientId, stored] of Object.entries(value)) {
    if (typeof stored === 'string') {
      define(document, clientId, stored);
      continue;
    }
    if (!stored || typeof stored !== 'object' || Array.isArray(stored)) {
      throw new Error(`${source}: value for ${clientId} is neither a string nor an object`);
    }
    const { current, previous, previousUntil } = stored as Record<string, unknown>;
    if (typeof current !== 'string') throw new Error(`${source}: ${clientId}.current is not a string`);
    if (previous !== undefined && typeof previous !== 'string') throw new Error(`${source}: ${clientId}.previous is not a string`);
    if (previousUntil !== undefined && (typeof previousUntil !== 'number' || !Number.isFinite(previousUntil))) {
      throw new Error(`${source}: ${clientId}.previousUntil is not a number`);
    }
    const entry: ClientSecretEntry = { current };
    if (previous !== undefined) entry.previous = previous;
    if (previousUntil !== undefined) entry.previousUntil = previousUntil;
    define(document, clientId, entry);
  }
  return document;
}

export interface WantedClientSecret {
  secret: string;
  /** The tenant's `secretRotationOverlapSeconds`. */
  overlapSeconds: number;
}

export interface SecretRotationPlan {
  /** The document to store; meaningful only when `changed`. */
  document: ClientSecretsDocument;
  /** Whether anything differs from what is stored: only then is a new version written. */
  changed: boolean;
  /** Clients whose secret changed: their old secret is accepted until `previousUntil`. */
  rotated: { clientId: string; previousUntil: number }[];
}

/**
 * What the seed stores. Per client: an unchanged secret carries its stored entry over untouched
 * (so re-applying a seed never extends an overlap); a changed one keeps the old current secret as
 * previous until now + the tenant's overlap; a new client gets `{ current }`; a client the seed no
 * longer names is dropped.
 */
export function planSecretRotation(
  stored: ClientSecretsDocument,
  wanted: Record<string, WantedClientSecret>,
  now: number,
): SecretRotationPlan {
  const document: ClientSecretsDocument = {};
  const rotated: SecretRotationPlan['rotated'] = [];
  let changed = Object.keys(stored).some((clientId) => !Object.hasOwn(wanted, clientId));
  for (const [clientId, { secret, overlapSeconds }] of Object.entries(wanted)) {
    const existing = Object.hasOwn(stored, clientId) ? stored[clientId] : undefined;
    if (existing !== undefined && entryOf(existing).current === secret) {
      define(document, clientId, existing);
      continue;
    }
    changed = true;
    if (existing === undefined) {
      define(document, clientId, { current: secret });
      continue;
    }
    const previousUntil = now + overlapSeconds;
    define(document, clientId, { current: secret, previous: entryOf(existing).current, previousUntil });
    rotated.push({ clientId, previousUntil });
  }
  return { document, changed, rotated };
}

/**
 * Incident response: the client's previous secret is refused from now on. `ended` is false when
 * the client has no previous secret (nothing to write); undefined when the client has no secret.
 */
export function endRotationOverlap(
  stored: ClientSecretsDocument,
  clientId: string,
): { document: ClientSecretsDocument; ended: boolean } | undefined {
  if (!Object.hasOwn(stored, clientId)) return undefined;
  const entry = entryOf(stored[clientId]!);
  if (entry.previous === undefined && entry.previousUntil === undefined) return { document: stored, ended: false };
  const document: ClientSecretsDocument = {};
  for (const [id, value] of Object.entries(stored)) define(document, id, value);
  define(document, clientId, { current: entry.current });
  return { document, ended: true };
}

/** An own, enumerable key even for `__proto__`. */
function define(document: ClientSecretsDocument, clientId: string, value: StoredClientSecret): void {
  Object.defineProperty(document, clientId, { value, enumerable: true, writable: true, configurable: true });
}
