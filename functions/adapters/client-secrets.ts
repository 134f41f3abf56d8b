import { secretMatches } from '../domain/tokens.js';
import type { ClientSecrets } from '../ports.js';
import type { RefreshingValue } from './refreshing-value.js';

/** Client id → secret, as one JSON object per version of the secret. */
export type SecretMap = Record<string, string>;

export interface SecretVersions {
  current: SecretMap;
  /** The version before the last rotation; accepted until the next one (contract section 3). */
  previous: SecretMap;
}

/** Compared against for unknown clients, so their answer takes as long as a known client's. */
const UNKNOWN_CLIENT_SECRET = 'unknown-client-placeholder-secret';

export class VersionedClientSecrets implements ClientSecrets {
  constructor(private readonly versions: RefreshingValue<SecretVersions>) {}

  async verify(clientId: string, presented: string): Promise<boolean> {
    const { current, previous } = await this.versions.get();
    const currentSecret = own(current, clientId);
    const previousSecret = own(previous, clientId);
    // Both comparisons always run: which one matched, or whether the client exists, must not show.
    const matchesCurrent = secretMatches(presented, currentSecret ?? UNKNOWN_CLIENT_SECRET);
    const matchesPrevious = secretMatches(presented, previousSecret ?? UNKNOWN_CLIENT_SECRET);
    return (matchesCurrent && currentSecret !== undefined) || (matchesPrevious && previousSecret !== undefined);
  }

  async preload(): Promise<void> {
    await this.versions.get();
  }
}

function own(map: SecretMap, key: string): string | undefined {
  return Object.prototype.hasOwnProperty.call(map, key) ? map[key] : undefined;
}
