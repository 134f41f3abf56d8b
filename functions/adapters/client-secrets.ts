import { hash, timingSafeEqual } from 'node:crypto';
import { entryOf, type ClientSecretsDocument } from '../domain/client-secrets.js';
import type { ClientSecrets, Clock } from '../ports.js';
import type { RefreshingValue } from './refreshing-value.js';

// The one-shot form: no Hash object per request, which is most of a short digest's cost.
const sha256 = (value: string) => hash('sha256', value, 'buffer');

/** Compared against for unknown clients, so their answer takes as long as a known client's. */
const UNKNOWN_CLIENT_DIGEST = sha256('unknown-client-placeholder-secret');

interface DigestEntry {
  current: Buffer;
  previous?: Buffer;
  previousUntil?: number;
}

/**
 * Verifies client secrets against the one stored version (domain/client-secrets.ts): the current
 * secret, and the previous one while its rotation overlap lasts. Secrets are compared as SHA-256
 * digests with timingSafeEqual, so the comparison takes the same time whatever the lengths, and
 * both comparisons always run. The stored side is hashed once per loaded version, not per request.
 */
export class VersionedClientSecrets implements ClientSecrets {
  private readonly digests = new WeakMap<ClientSecretsDocument, Map<string, DigestEntry>>();

  constructor(
    private readonly document: RefreshingValue<ClientSecretsDocument>,
    private readonly clock: Clock,
  ) {}

  async verify(clientId: string, presented: string): Promise<boolean> {
    const entry = this.digestsOf(await this.document.get()).get(clientId);
    const presentedDigest = sha256(presented);
    // Both comparisons always run: which one matched, or whether the client exists, must not show.
    const matchesCurrent = timingSafeEqual(presentedDigest, entry?.current ?? UNKNOWN_CLIENT_DIGEST);
    const matchesPrevious = timingSafeEqual(presentedDigest, entry?.previous ?? UNKNOWN_CLIENT_DIGEST);
    if (entry === undefined) return false;
    const previousLive = entry.previous !== undefined && entry.previousUntil !== undefined && this.clock() < entry.previousUntil;
    return matchesCurrent || (matchesPrevious && previousLive);
  }

  private digestsOf(document: ClientSecretsDocument): Map<string, DigestEntry> {
    let digests = this.digests.get(document);
    if (!digests) {
      digests = digestMap(document);
      this.digests.set(document, digests);
    }
    return digests;
  }

  async preload(): Promise<void> {
    await this.document.get();
  }
}

/** A Map, so a client id such as `__proto__` is just a key. */
function digestMap(document: ClientSecretsDocument): Map<string, DigestEntry> {
  const digests = new Map<string, DigestEntry>();
  for (const [clientId, stored] of Object.entries(document)) {
    const entry = entryOf(stored);
    const digest: DigestEntry = { current: sha256(entry.current) };
    // A previous secret without an end is never accepted (operating.md: the overlap ends).
    if (entry.previous !== undefined && entry.previousUntil !== undefined) {
      digest.previous = sha256(entry.previous);
      digest.previousUntil = entry.previousUntil;
    }
    digests.set(clientId, digest);
  }
  return digests;
}
