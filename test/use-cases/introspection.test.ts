import { beforeEach, describe, expect, it } from 'vitest';
import { issueServiceToken } from '../../functions/use-cases/service-tokens.js';
import { introspect } from '../../functions/use-cases/introspection.js';
import { revoke } from '../../functions/use-cases/revocation.js';
import { memoryDeps } from '../support/memory-deps.js';

/** Contract section 4 on the memory store: introspection, no HTTP (revocation: revocation.test.ts). */
describe('introspection (use cases, memory store)', () => {
  let world: Awaited<ReturnType<typeof memoryDeps>>;
  beforeEach(async () => {
    world = await memoryDeps();
  });

  it('describes a live service token of the caller’s tenant, and nothing else', async () => {
    const { broker, clients, clock } = world;
    const { accessToken } = await issueServiceToken(broker, clients.orders, 'order.order_read');
    expect(await introspect(broker, clients.reports, accessToken)).toEqual({
      active: true,
      scope: 'order.order_read tenant=acme',
      client_id: 'orders-svc',
      token_type: 'Bearer',
      iat: clock.now,
      exp: clock.now + 1000,
      sub: 'orders-svc',
      tenant: 'acme',
    });
    expect(await introspect(broker, clients.globex, accessToken)).toEqual({ active: false });
    expect(await introspect(broker, clients.reports, `${accessToken.slice(0, -1)}A`)).toEqual({ active: false });
    expect(await introspect(broker, clients.reports, 'not-a-token')).toEqual({ active: false });
    clock.advance(1000);
    expect(await introspect(broker, clients.reports, accessToken)).toEqual({ active: false });
  });

  it('a token issued before its client’s tokens were revoked is inactive', async () => {
    const { broker, clients, clock, store } = world;
    const { accessToken } = await issueServiceToken(broker, clients.orders, undefined);
    clock.advance(5);
    await store.revokeServiceClientTokens('orders-svc', clock.now);
    expect(await introspect(broker, clients.reports, accessToken)).toEqual({ active: false });
  });

  it('a JWT access token is found by its jti and described like an opaque one; revoked, it is inactive', async () => {
    const { broker, clients, clock } = world;
    const client = { ...clients.reports, accessTokenFormat: 'jwt' as const };
    const { accessToken } = await issueServiceToken(broker, client, undefined);
    expect(await introspect(broker, clients.orders, accessToken)).toEqual({
      active: true,
      scope: 'order.order_read tenant=acme',
      client_id: 'reports-svc',
      token_type: 'Bearer',
      iat: clock.now,
      exp: clock.now + 1000,
      sub: 'reports-svc',
      tenant: 'acme',
    });
    expect(await introspect(broker, clients.globex, accessToken)).toEqual({ active: false });
    await revoke(broker, client, accessToken);
    expect(await introspect(broker, clients.orders, accessToken)).toEqual({ active: false });
  });
});
