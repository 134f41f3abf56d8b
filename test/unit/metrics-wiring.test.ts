import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryStore } from '../../functions/adapters/memory-store.js';
import { DEFAULTS } from '../../functions/config.js';
import { ServiceUnavailable } from '../../functions/domain/errors.js';
import type { IdentityProvider } from '../../functions/domain/federation.js';
import { silentLogger } from '../../functions/log.js';
import { Metrics, withMetrics } from '../../functions/metrics.js';
import { buildOAuthDeps, identityProvidersPart, mailerPart, type Settings } from '../../functions/wiring.js';
import { type EmfDocument, sumMetrics } from '../support/emf.js';

/**
 * The counters the wiring adds where no audit event exists (functions/wiring.ts): identity-provider
 * calls and failures, mails sent and failed, and the service-token cache's table reads when there
 * is no near cache. Real adapters; only the far end is missing (a closed port, no mailer).
 */

const settings: Settings = { clock: () => 1_900_000_000, log: silentLogger, serviceTokenReuseShare: 0.5, hold: DEFAULTS.localHold };
const outbox = mkdtempSync(join(tmpdir(), 'token-broker-metrics-'));
afterAll(() => rmSync(outbox, { recursive: true, force: true }));

async function counted(work: () => Promise<unknown>): Promise<Record<string, number>> {
  const lines: string[] = [];
  const metrics = new Metrics('test', { write: (line) => lines.push(line) });
  await withMetrics(metrics, work);
  metrics.flush();
  return sumMetrics(lines.map((line) => JSON.parse(line) as EmfDocument));
}

const MAIL = { from: 'shop@acme.example', to: 'ann@example.com', subject: 'Confirm', text: 'hello', html: '<p>hello</p>' };

describe('counted where no audit event exists', () => {
  it('an identity provider that cannot be reached is one call and one failure', async () => {
    const providers = identityProvidersPart('local secrets file', async () => ({ acme: { default: 'provider-secret' } }), settings);
    const provider: IdentityProvider = {
      name: 'default',
      // Port 1 on loopback: refused at once.
      issuer: 'http://127.0.0.1:1',
      clientId: 'broker',
      redirectUri: 'https://shop.acme.example/callback',
      customerIdentifier: 'EMAIL',
      autoProvision: false,
      validation: 'jwks',
    };
    const sums = await counted(async () => {
      await expect(providers.exchangeCode('acme', provider, { code: 'c', redirectUri: provider.redirectUri })).rejects.toBeInstanceOf(
        ServiceUnavailable,
      );
    });
    expect(sums).toEqual({ 'test IdentityProviderCalls': 1, 'test IdentityProviderFailures': 1 });
  });

  it('a mail written is one sent; a send without a mailer is one failed', async () => {
    expect(await counted(() => mailerPart({ outbox }, settings).send(MAIL))).toEqual({ 'test MailsSent': 1 });
    expect(
      await counted(() =>
        mailerPart(undefined, settings)
          .send(MAIL)
          .catch(() => undefined),
      ),
    ).toEqual({ 'test MailsFailed': 1 });
  });

  it('without a near cache, each cached-token read is counted as the table answered it', async () => {
    const deps = buildOAuthDeps(
      {
        table: { memory: new MemoryStore() },
        keys: { name: 'test', cacheKey: async () => Buffer.alloc(32), clientSecrets: async () => ({}), signingKeys: async () => [] },
      },
      { ...settings, nearCache: { staleSeconds: 0 } },
      'https://broker.example',
    );
    const sums = await counted(async () => {
      await deps.tokens.getCachedServiceToken('orders-svc', 'order.read');
      await deps.tokens.putCachedServiceToken({
        clientId: 'orders-svc',
        scopeKey: 'order.read',
        selector: 's',
        sealed: 'x',
        issuedAt: 1,
        expiresAt: 2,
      });
      await deps.tokens.getCachedServiceToken('orders-svc', 'order.read');
    });
    expect(sums).toEqual({ 'test ServiceTokenCache Tier=miss': 1, 'test ServiceTokenCache Tier=table': 1 });
  });
});
