import { beforeEach, describe, expect, it } from 'vitest';
import { MemoryStore } from '../../functions/adapters/memory-store.js';
import { NearCachedTokens, type NearCacheTier } from '../../functions/adapters/near-cache.js';
import type { CachedServiceToken } from '../../functions/ports.js';

/**
 * The near cache's rules (issue 13), over the memory store with a counter of the reads that reach
 * it: a warm read costs none, the bound is kept, this instance's revocations purge at once.
 */

const ENTRY: CachedServiceToken = {
  clientId: 'reports-svc',
  scopeKey: 'order.order_read',
  selector: 'sel-1',
  sealed: 'sealed-1',
  issuedAt: 1_900_000_000,
  expiresAt: 1_900_014_400,
};

class CountingStore extends MemoryStore {
  reads = 0;
  /** When set, a read waits for it before answering (to interleave a revocation). */
  gate: Promise<void> | undefined;

  override async getCachedServiceToken(clientId: string, scopeKey: string) {
    this.reads += 1;
    const answer = await super.getCachedServiceToken(clientId, scopeKey);
    if (this.gate) await this.gate;
    return answer;
  }
}

let table: CountingStore;
let nowMs: number;
let tiers: NearCacheTier[];
let near: NearCachedTokens;

beforeEach(async () => {
  table = new CountingStore();
  await table.putCachedServiceToken(ENTRY);
  nowMs = 1_000_000;
  tiers = [];
  near = new NearCachedTokens(table, { staleSeconds: 5, nowMs: () => nowMs, observe: (tier) => tiers.push(tier) });
});

const read = (on: NearCachedTokens = near) => on.getCachedServiceToken(ENTRY.clientId, ENTRY.scopeKey);

describe('the near cache', () => {
  it('reads the table once, then serves from memory until the bound', async () => {
    expect(await read()).toEqual(ENTRY);
    nowMs += 4_999;
    expect(await read()).toEqual(ENTRY);
    expect(table.reads).toBe(1);
    nowMs += 1;
    expect(await read()).toEqual(ENTRY);
    expect(table.reads).toBe(2);
    expect(tiers).toEqual(['table', 'near', 'table']);
  });

  it('hands out a token changed on another instance for at most the bound', async () => {
    await read();
    // Another instance revoked the token and dropped the entry; this one does not know.
    await table.dropCachedServiceToken(ENTRY.clientId, ENTRY.scopeKey, ENTRY.selector);
    nowMs += 4_000;
    expect(await read()).toEqual(ENTRY);
    nowMs += 1_000;
    expect(await read()).toBeUndefined();
    expect(tiers).toEqual(['table', 'near', 'miss']);
  });

  it('forgets a token revoked on this instance at once', async () => {
    await read();
    await near.dropCachedServiceToken(ENTRY.clientId, ENTRY.scopeKey, ENTRY.selector);
    expect(await read()).toBeUndefined();
    expect(table.reads).toBe(2);
  });

  it('forgets a revoked token as soon as its record is revoked, before the cache item is dropped', async () => {
    await table.putAccessToken({
      selector: ENTRY.selector,
      hash: 'h',
      tenant: 'acme',
      clientId: ENTRY.clientId,
      scopes: [ENTRY.scopeKey],
      issuedAt: ENTRY.issuedAt,
      expiresAt: ENTRY.expiresAt,
    });
    await read();
    expect(await near.revokeAccessToken(ENTRY.selector, 'h', 'acme', ENTRY.issuedAt + 1)).toBeDefined();
    await read();
    expect(table.reads).toBe(2);
  });

  it('keeps a newer token when an older one is revoked', async () => {
    const newer = { ...ENTRY, selector: 'sel-2', sealed: 'sealed-2' };
    await near.putCachedServiceToken(newer);
    await near.dropCachedServiceToken(ENTRY.clientId, ENTRY.scopeKey, ENTRY.selector);
    expect(await read()).toEqual(newer);
    expect(table.reads).toBe(0);
  });

  it('serves what this instance minted without a read', async () => {
    const minted = { ...ENTRY, scopeKey: 'order.order_manage', selector: 'sel-3' };
    await near.putCachedServiceToken(minted);
    expect(await near.getCachedServiceToken(minted.clientId, minted.scopeKey)).toEqual(minted);
    expect(table.reads).toBe(0);
    expect(await table.getCachedServiceToken(minted.clientId, minted.scopeKey)).toEqual(minted);
  });

  it('does not hold the answer of a read that a revocation on this instance overtook', async () => {
    let open!: () => void;
    table.gate = new Promise((resolve) => {
      open = resolve;
    });
    const overtaken = read();
    await Promise.resolve();
    await near.dropCachedServiceToken(ENTRY.clientId, ENTRY.scopeKey, ENTRY.selector);
    open();
    // The read started before the revocation and may answer with the old token ...
    await overtaken;
    table.gate = undefined;
    // ... but the next request asks the table again, which no longer has it.
    expect(await read()).toBeUndefined();
  });

  it('shares one table read among concurrent misses', async () => {
    const answers = await Promise.all(Array.from({ length: 50 }, () => read()));
    expect(answers.every((answer) => answer?.selector === ENTRY.selector)).toBe(true);
    expect(table.reads).toBe(1);
  });

  it('keeps at most maxEntries, dropping the oldest', async () => {
    const small = new NearCachedTokens(table, { staleSeconds: 5, nowMs: () => nowMs, maxEntries: 2 });
    for (const scopeKey of ['a', 'b', 'c']) await small.putCachedServiceToken({ ...ENTRY, scopeKey });
    table.reads = 0;
    await small.getCachedServiceToken(ENTRY.clientId, 'c');
    await small.getCachedServiceToken(ENTRY.clientId, 'b');
    expect(table.reads).toBe(0);
    await small.getCachedServiceToken(ENTRY.clientId, 'a');
    expect(table.reads).toBe(1);
  });

  it("holds nothing with a bound of 0, and shares no read: every lookup is the table's, and counted", async () => {
    const off = new NearCachedTokens(table, { staleSeconds: 0, nowMs: () => nowMs, observe: (tier) => tiers.push(tier) });
    await read(off);
    await read(off);
    expect(table.reads).toBe(2);
    await Promise.all([read(off), read(off)]);
    expect(table.reads).toBe(4);
    expect(tiers).toEqual(['table', 'table', 'table', 'table']);
  });
});
