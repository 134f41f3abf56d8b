import { decodeJwt, decodeProtectedHeader } from 'jose';
import { beforeEach, describe, expect, it } from 'vitest';
import { NearCachedTokens } from '../../functions/adapters/near-cache.js';
import { ServiceUnavailable } from '../../functions/domain/errors.js';
import { hashToken, parseToken } from '../../functions/domain/tokens.js';
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

  it('never hands out a token issued before its client’s tokens were revoked, even from a warm near cache', async () => {
    const { broker, clients, clock, store } = world;
    // The near cache holds the token for far longer than the test takes: only the client check can refuse it.
    const warm = { ...broker, tokens: new NearCachedTokens(broker.tokens, { staleSeconds: 3600, nowMs: () => clock.now * 1000 }) };
    const first = await issueServiceToken(warm, clients.orders, undefined);
    clock.advance(10);
    await store.revokeServiceClientTokens('orders-svc', clock.now);
    const fresh = await issueServiceToken(warm, { ...clients.orders, tokensRevokedAt: clock.now }, undefined);
    expect(fresh.accessToken).not.toBe(first.accessToken);
    // The new token is what the near cache holds from now on.
    expect((await issueServiceToken(warm, { ...clients.orders, tokensRevokedAt: clock.now }, undefined)).accessToken).toBe(
      fresh.accessToken,
    );
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

  describe('with accessTokenFormat jwt (contract section 9)', () => {
    const jwtClient = () => ({ ...world.clients.reports, accessTokenFormat: 'jwt' as const, audience: 'https://reports.internal' });

    it('mints a JWT whose jti names the stored record, and caches that JWT', async () => {
      const { broker, clock, store } = world;
      const client = jwtClient();
      await store.putServiceClient(client);
      const grant = await issueServiceToken(broker, client, undefined);
      expect(decodeProtectedHeader(grant.accessToken)).toMatchObject({ typ: 'at+jwt', alg: 'ES256' });
      expect(decodeJwt(grant.accessToken)).toMatchObject({
        iss: 'https://broker.example',
        sub: 'reports-svc',
        aud: 'https://reports.internal',
        client_id: 'reports-svc',
        scope: grant.scope,
        tenant: 'acme',
        iat: clock.now,
        exp: clock.now + 1000,
      });
      const parsed = parseToken(grant.accessToken)!;
      const found = await store.findToken(parsed.selector);
      expect(found?.kind === 'access' && found.record.hash).toBe(hashToken(grant.accessToken));
      clock.advance(10);
      expect(await issueServiceToken(broker, client, undefined)).toEqual({ ...grant, expiresIn: 990 });
    });

    it('the audience is the issuer when the client names none', async () => {
      const { broker } = world;
      const { audience: _none, ...client } = jwtClient();
      expect(decodeJwt((await issueServiceToken(broker, client, undefined)).accessToken).aud).toBe('https://broker.example');
    });

    it('a client switched to JWTs, or to another audience, gets a new token rather than its cached one', async () => {
      const { broker, clients } = world;
      const opaque = await issueServiceToken(broker, clients.reports, undefined);
      const jwt = await issueServiceToken(broker, jwtClient(), undefined);
      expect(jwt.accessToken).not.toBe(opaque.accessToken);
      expect(decodeJwt(jwt.accessToken).aud).toBe('https://reports.internal');
      const moved = await issueServiceToken(broker, { ...jwtClient(), audience: 'https://elsewhere.internal' }, undefined);
      expect(decodeJwt(moved.accessToken).aud).toBe('https://elsewhere.internal');
      const back = await issueServiceToken(broker, clients.reports, undefined);
      expect(back.accessToken).toMatch(/^[A-Za-z0-9_-]{64}$/);
    });

    it('the warm-up keeps a warmup client’s JWT fresh too', async () => {
      const { broker, clients, store } = world;
      const client = { ...clients.orders, accessTokenFormat: 'jwt' as const };
      await store.putServiceClient(client);
      expect(await warmUp(broker, 300)).toEqual({ refreshed: ['orders-svc'], stillFresh: [], failed: [] });
      const warmed = await issueServiceToken(broker, client, undefined);
      expect(decodeProtectedHeader(warmed.accessToken).typ).toBe('at+jwt');
      expect(await warmUp(broker, 300)).toEqual({ refreshed: [], stillFresh: ['orders-svc'], failed: [] });
    });

    it('no signing key: the mint fails as the key’s outage (503), nothing is stored', async () => {
      const { broker, store } = world;
      const client = jwtClient();
      const keyless = {
        ...broker,
        signingKeys: { current: async () => Promise.reject(new ServiceUnavailable('signing keys', new Error('down'))) },
      };
      await expect(issueServiceToken(keyless, client, undefined)).rejects.toBeInstanceOf(ServiceUnavailable);
      expect(await store.getCachedServiceToken('reports-svc', 'order.order_read')).toBeUndefined();
    });
  });
});
