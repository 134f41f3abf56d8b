import { hash, timingSafeEqual } from 'node:crypto';
import type { ClientSecrets } from '../ports.js';
import type { RefreshingValue } from './refreshing-value.js';

/** Client id → secret, as one JSON object per version of the secret. */
export type SecretMap = Record<string, string>;

export interface SecretVersions {
  current: SecretMap;
  /** The version before the last rotation; accepted until the next one (contract section 3). */
  previous: SecretMap;
}

// The one-shot form: no Hash object per request, which is most of a short digest's cost.
const sha256 = (value: string) => hash('sha256', value, 'buffer');

/** Compared against for unknown clients, so their answer takes as long as a known client's. */
const UNKNOWN_CLIENT_DIGEST = sha256('unknown-client-placeholder-secret');

type DigestMap = Map<string, Buffer>;

/**
 * Secrets are compared as SHA-256 digests with timingSafeEqual, so the comparison takes the same
 * time whatever the lengths. The stored side is hashed once per loaded version, not per request.
 */
export class VersionedClientSecrets implements ClientSecrets {
  private readonly digests = new WeakMap<SecretVersions, { current: DigestMap; previous: DigestMap }>();

  constructor(private readonly versions: RefreshingValue<SecretVersions>) {}

  async verify(clientId: string, presented: string): Promise<boolean> {
    const { current, previous } = this.digestsOf(await this.versions.get());
    const presentedDigest = sha256(presented);
    const currentDigest = current.get(clientId);
    const previousDigest = previous.get(clientId);
    // Both comparisons always run: which one matched, or whether the client exists, must not show.
    const matchesCurrent = timingSafeEqual(presentedDigest, currentDigest ?? UNKNOWN_CLIENT_DIGEST);
    const matchesPrevious = timingSafeEqual(presentedDigest, previousDigest ?? UNKNOWN_CLIENT_DIGEST);
    return (matchesCurrent && currentDigest !== undefined) || (matchesPrevious && previousDigest !== undefined);
  }

  private digestsOf(versions: SecretVersions) {
    let digests = this.digests.get(versions);
    if (!digests) {
      digests = { current: digestMap(versions.current), previous: digestMap(versions.previous) };
      this.digests.set(versions, digests);
    }
    return digests;
  }

  async preload(): Promise<void> {
    await this.versions.get();
  }
}

/** A Map, so a client id such as `__proto__` is just a key. */
function digestMap(secrets: SecretMap): DigestMap {
  return new Map(Object.entries(secrets).map(([clientId, secret]) => [clientId, sha256(secret)]));
}
