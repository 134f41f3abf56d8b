import { beforeEach, describe, expect, it } from 'vitest';
import { issueServiceToken } from '../../functions/use-cases/service-tokens.js';
import { anonymousLogin, refreshSession } from '../../functions/use-cases/sessions.js';
import { introspect } from '../../functions/use-cases/introspection.js';
import { revoke } from '../../functions/use-cases/revocation.js';
import { memoryDeps, refused } from '../support/memory-deps.js';

/** Contract section 4 on the memory store: revocation, seen through introspection; no HTTP. */
describe('revocation (use cases, memory store)', () => {
  let world: Awaited<ReturnType<typeof memoryDeps>>;
  beforeEach(async () => {
    world = await memoryDeps();
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
    expect(await introspect(broker, clients.reports, pair.accessToken)).toMatchObject({
      active: true,
      client_id: 'storefront-web',
      tenant: 'acme',
    });
    await revoke(broker, clients.globex, pair.refreshToken);
    expect((await introspect(broker, clients.reports, pair.accessToken)).active).toBe(true);
    await revoke(broker, clients.admin, pair.refreshToken);
    expect(await introspect(broker, clients.reports, pair.accessToken)).toEqual({ active: false });
    expect(await refused(refreshSession(storefront, { tenant: 'acme', kind: 'anonymous', refreshToken: pair.refreshToken }))).toBe(true);
  });
});
