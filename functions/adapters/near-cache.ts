import type { AccessTokenRecord, CachedServiceToken, FoundToken, TokenStore } from '../ports.js';

/** Milliseconds since some fixed point; `Date.now` in production, a hand-moved clock in tests. */
export type MillisecondClock = () => number;

/** Where a cached service token was found, for the cache metrics (issue 14). */
export type NearCacheTier = 'near' | 'table' | 'miss';

export interface NearCacheOptions {
  /**
   * How long an entry read from (or written to) the table is served from memory without asking
   * the table again. A token revoked on another instance is handed out at most this long after.
   */
  staleSeconds: number;
  nowMs?: MillisecondClock;
  /** Entries kept at most; the oldest goes first, so random scope strings cannot grow it without end. */
  maxEntries?: number;
  /** Told where each read was answered. */
  observe?: (tier: NearCacheTier) => void;
}

interface Held {
  entry: CachedServiceToken;
  /** When the table last vouched for `entry`. */
  heldSinceMs: number;
}

/**
 * The service-token cache as a warm instance sees it (issue 13): the shared cache item
 * (`CACHE#<client>`) with an in-process copy in front, so a popular client's cached token costs
 * no DynamoDB call and its cache item stops being a hot key.
 *
 * What the copy may get wrong is bounded: an entry is served for `staleSeconds` after the table
 * last vouched for it, then read again. A token revoked (RFC 7009) on this instance leaves the
 * copy at once; one revoked on another instance is handed out here at most `staleSeconds` longer,
 * and introspection (which always reads the table) already answers `active: false` for it. A
 * client's revocation by the incident CLI (`tokensRevokedAt`) is checked by the use case on every
 * hit against the client record, near or not, so the copy does not delay it.
 *
 * Only reads of the cache item are held. Every other token operation passes straight through.
 */
export class NearCachedTokens implements TokenStore {
  private readonly held = new Map<string, Held>();
  /** Reads of the same item in flight: concurrent misses share one GetItem. */
  private readonly reading = new Map<string, Promise<CachedServiceToken | undefined>>();
  /** Counts this instance's writes and purges, so a read that overlapped one does not hold its answer. */
  private changes = 0;
  private readonly staleMs: number;
  private readonly nowMs: MillisecondClock;
  private readonly maxEntries: number;
  private readonly observe: (tier: NearCacheTier) => void;

  constructor(
    private readonly inner: TokenStore,
    options: NearCacheOptions,
  ) {
    this.staleMs = options.staleSeconds * 1000;
    this.nowMs = options.nowMs ?? Date.now;
    this.maxEntries = options.maxEntries ?? 10_000;
    this.observe = options.observe ?? (() => {});
  }

  async getCachedServiceToken(clientId: string, scopeKey: string): Promise<CachedServiceToken | undefined> {
    const key = keyOf(clientId, scopeKey);
    const held = this.held.get(key);
    if (held && this.nowMs() - held.heldSinceMs < this.staleMs) {
      this.observe('near');
      return held.entry;
    }
    // With no bound every request reads the item itself, as if there were no copy at all.
    if (this.staleMs <= 0) return this.readThrough(key, clientId, scopeKey);
    const pending = this.reading.get(key);
    if (pending) return pending;
    const read = this.readThrough(key, clientId, scopeKey);
    this.reading.set(key, read);
    try {
      return await read;
    } finally {
      // A purge may have let a newer read take the slot: that one stays.
      if (this.reading.get(key) === read) this.reading.delete(key);
    }
  }

  private async readThrough(key: string, clientId: string, scopeKey: string): Promise<CachedServiceToken | undefined> {
    const startedMs = this.nowMs();
    const changesBefore = this.changes;
    const entry = await this.inner.getCachedServiceToken(clientId, scopeKey);
    this.observe(entry ? 'table' : 'miss');
    // A revocation or a mint on this instance while the table was being read wins over what the
    // read brings back: holding that would serve a just-revoked token, or an older one, again.
    if (this.changes !== changesBefore) return entry;
    // The table vouched for the entry as of when it was asked, not when it answered.
    if (entry) this.hold(key, entry, startedMs);
    else this.held.delete(key);
    return entry;
  }

  async putCachedServiceToken(entry: CachedServiceToken): Promise<void> {
    await this.inner.putCachedServiceToken(entry);
    this.changes += 1;
    this.hold(keyOf(entry.clientId, entry.scopeKey), entry, this.nowMs());
  }

  async dropCachedServiceToken(clientId: string, scopeKey: string, selector: string): Promise<void> {
    // Purged before the table is asked: whatever the table answers, this instance stops serving it.
    this.purge(clientId, scopeKey, selector);
    await this.inner.dropCachedServiceToken(clientId, scopeKey, selector);
  }

  async revokeAccessToken(
    selector: string,
    hash: string,
    tenant: string,
    now: number,
    clientId?: string,
  ): Promise<AccessTokenRecord | undefined> {
    const record = await this.inner.revokeAccessToken(selector, hash, tenant, now, clientId);
    if (record) this.purge(record.clientId, record.scopes.join(' '), record.selector);
    return record;
  }

  putAccessToken(record: AccessTokenRecord): Promise<void> {
    return this.inner.putAccessToken(record);
  }

  findToken(selector: string): Promise<FoundToken | undefined> {
    return this.inner.findToken(selector);
  }

  /** Forgets the held entry of `clientId` and `scopeKey` if it is the token with `selector`. */
  private purge(clientId: string, scopeKey: string, selector: string): void {
    const key = keyOf(clientId, scopeKey);
    this.changes += 1;
    // A read already in flight may bring the revoked token back; later callers start their own.
    this.reading.delete(key);
    if (this.held.get(key)?.entry.selector === selector) this.held.delete(key);
  }

  private hold(key: string, entry: CachedServiceToken, heldSinceMs: number): void {
    if (this.staleMs <= 0) return;
    this.held.delete(key);
    if (this.held.size >= this.maxEntries) {
      const oldest = this.held.keys().next();
      if (!oldest.done) this.held.delete(oldest.value);
    }
    this.held.set(key, { entry, heldSinceMs });
  }
}

/** A client id never holds a newline (domain/identifiers.ts), so the key is unambiguous. */
function keyOf(clientId: string, scopeKey: string): string {
  return `${clientId}\n${scopeKey}`;
}
