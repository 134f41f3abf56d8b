import { beforeEach, describe, expect, it } from 'vitest';
import { parseToken } from '../../functions/domain/tokens.js';
import { issueServiceToken, warmUp } from '../../functions/use-cases/service-tokens.js';
import { memoryDeps } from '../support/memory-deps.js';

/** Contract section 3 on the memory store: the use cases alone, no HTTP. */
describe('service tokens (use case, memory store)', () => {
  let world: Awaited<ReturnType<typeof memoryDeps>>;
  beforeEach(async () => {
    world = await memoryDeps();
  });

  it('mints a token with the granted scopes, then hands the same one back with its true expires_in', async () => {
    const { broker, clients, clock } = world;
    const first = await issueServiceToken(broker, clients.orders, undefined);
    expect(first).toMatchObject({ expiresIn: 1000, scope: 'order.order_manage order.order_read tenant=acme' });
    clock.advance(100);
    const again = await issueServiceToken(broker, clients.orders, undefined);
    expect(again).toEqual({ ...first, expiresIn: 900 });
  });

  it('keeps one cached token per client and scope set', async () => {
    const { broker, clients } = world;
    const all = await issueServiceToken(broker, clients.orders, undefined);
    const read = await issueServiceToken(broker, clients.orders, 'order.order_read');
    expect(read.accessToken).not.toBe(all.accessToken);
    expect(read.scope).toBe('order.order_read tenant=acme');
    expect((await issueServiceToken(broker, clients.orders, 'order.order_read')).accessToken).toBe(read.accessToken);
    expect((await issueServiceToken(broker, clients.reports, 'order.order_read')).accessToken).not.toBe(read.accessToken);
  });

  it('mints anew once the reuse share of the life is spent', async () => {
    const { broker, clients, clock } = world;
    const first = await issueServiceToken(broker, clients.orders, undefined);
    clock.advance(499);
    expect((await issueServiceToken(broker, clients.orders, undefined)).accessToken).toBe(first.accessToken);
    clock.advance(1);
    const fresh = await issueServiceToken(broker, clients.orders, undefined);
    expect(fresh.accessToken).not.toBe(first.accessToken);
    expect(fresh.expiresIn).toBe(1000);
  });

  it('never hands out a token issued before its client’s tokens were revoked', async () => {
    const { broker, clients, clock, store } = world;
    const first = await issueServiceToken(broker, clients.orders, undefined);
    clock.advance(10);
    const revoked = await store.revokeServiceClientTokens('orders-svc', clock.now);
    expect(revoked?.tokensRevokedAt).toBe(clock.now);
    const fresh = await issueServiceToken(broker, { ...clients.orders, tokensRevokedAt: clock.now }, undefined);
    expect(fresh.accessToken).not.toBe(first.accessToken);
    const found = await store.findToken(parseToken(fresh.accessToken)?.selector ?? '');
    expect(found?.kind === 'access' && found.record.issuedAt).toBeGreaterThan(clock.now);
  });

  it('mints anew when the cached value no longer opens (the cache key was rotated)', async () => {
    const { broker, clients } = world;
    const first = await issueServiceToken(broker, clients.orders, undefined);
    const rotated = { ...broker, keys: { cacheKey: async () => Buffer.from('r'.repeat(64)) } };
    const fresh = await issueServiceToken(rotated, clients.orders, undefined);
    expect(fresh.accessToken).not.toBe(first.accessToken);
    expect((await issueServiceToken(rotated, clients.orders, undefined)).accessToken).toBe(fresh.accessToken);
  });

  it('the warm-up renews what would go stale before its next run, and only that', async () => {
    const { broker, clients, clock } = world;
    expect(await warmUp(broker, 300)).toEqual({ refreshed: ['orders-svc'], stillFresh: [], failed: [] });
    const warmed = await issueServiceToken(broker, clients.orders, undefined);
    expect(warmed.expiresIn).toBe(1000);
    clock.advance(100);
    expect(await warmUp(broker, 300)).toEqual({ refreshed: [], stillFresh: ['orders-svc'], failed: [] });
    clock.advance(150);
    // The next run (at 550 s) would find the token past its reuse share (500 s).
    expect(await warmUp(broker, 300)).toEqual({ refreshed: ['orders-svc'], stillFresh: [], failed: [] });
    expect((await issueServiceToken(broker, clients.orders, undefined)).accessToken).not.toBe(warmed.accessToken);
  });

  it('the warm-up reports a client whose mint fails, and carries on', async () => {
    const { broker } = world;
    const failing = { ...broker, keys: { cacheKey: async () => Promise.reject(new Error('no key')) } };
    const report = await warmUp(failing, 300);
    expect(report.refreshed).toEqual([]);
    expect(report.failed).toEqual(['orders-svc']);
  });
});
