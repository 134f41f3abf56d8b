import { beforeEach, describe, expect, it } from 'vitest';
import { issueServiceToken } from '../../functions/use-cases/service-tokens.js';
import { anonymousLogin, refreshSession } from '../../functions/use-cases/sessions.js';
import { introspect, revoke } from '../../functions/use-cases/validation.js';
import { memoryDeps, refused } from '../support/memory-deps.js';

/** Contract section 4 on the memory store: introspection and revocation, no HTTP. */
describe('introspection and revocation (use cases, memory store)', () => {
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

  it('revokes a client’s own token, which then leaves the cache; another client without the scope cannot', async () => {
    const { broker, clients } = world;
    const { accessToken } = await issueServiceToken(broker, clients.orders, undefined);
    await revoke(broker, clients.reports, accessToken);
    expect((await introspect(broker, clients.reports, accessToken)).active).toBe(true);
    await revoke(broker, clients.orders, accessToken);
    expect(await introspect(broker, clients.reports, accessToken)).toEqual({ active: false });
    expect((await issueServiceToken(broker, clients.orders, undefined)).accessToken).not.toBe(accessToken);
  });

  it('with broker.token_revoke, revokes any token of its tenant, a storefront session through any of its tokens', async () => {
    const { broker, storefront, clients } = world;
    const service = await issueServiceToken(broker, clients.orders, undefined);
    await revoke(broker, clients.admin, service.accessToken);
    expect(await introspect(broker, clients.reports, service.accessToken)).toEqual({ active: false });

    const { pair } = await anonymousLogin(storefront, { tenant: 'acme', clientId: 'storefront-web', context: {} });
    expect(await introspect(broker, clients.reports, pair.accessToken)).toMatchObject({ active: true, client_id: 'storefront-web', tenant: 'acme' });
    await revoke(broker, clients.globex, pair.refreshToken);
    expect((await introspect(broker, clients.reports, pair.accessToken)).active).toBe(true);
    await revoke(broker, clients.admin, pair.refreshToken);
    expect(await introspect(broker, clients.reports, pair.accessToken)).toEqual({ active: false });
    expect(await refused(refreshSession(storefront, { tenant: 'acme', kind: 'anonymous', refreshToken: pair.refreshToken }))).toBe(true);
  });

  it('a token issued before its client’s tokens were revoked is inactive', async () => {
    const { broker, clients, clock, store } = world;
    const { accessToken } = await issueServiceToken(broker, clients.orders, undefined);
    clock.advance(5);
    await store.revokeServiceClientTokens('orders-svc', clock.now);
    expect(await introspect(broker, clients.reports, accessToken)).toEqual({ active: false });
  });
});
