import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InitializeMiddleware } from '@smithy/types';
import { startLocalBroker } from '../functions/local/broker.js';
import { silentLogger } from '../functions/log.js';
import { BENCH_CUSTOMER, benchSeed } from './bench-seed.js';
import { PEER_CLIENT } from './peer.js';
import type { RoundTripRow } from './results-types.js';

/**
 * DynamoDB calls per request per route, counted by an SDK middleware on local mode's client
 * (dynalite), on warm caches as a running function would have them.
 */
export async function measureRoundTrips(): Promise<RoundTripRow[]> {
  const dataDir = mkdtempSync(join(tmpdir(), 'token-broker-rt-'));
  writeFileSync(join(dataDir, 'seed.json'), JSON.stringify(benchSeed()));
  const broker = await startLocalBroker({ port: 0, host: '127.0.0.1', dataDir, seedFile: join(dataDir, 'seed.json'), log: silentLogger });
  let calls: string[] = [];
  const count: InitializeMiddleware<any, any> = (next, context) => (args) => {
    calls.push((context.commandName as string).replace(/Command$/, ''));
    return next(args);
  };
  broker.dynamoClient!.middlewareStack.add(count, { step: 'initialize', name: 'countRoundTrips' });
  const url = broker.url;
  const json = async (response: Promise<Response>) => (await response).json() as Promise<Record<string, string>>;
  const form = (body: Record<string, string>) => ({
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(body).toString(),
  });
  const credentials = { client_id: PEER_CLIENT.id, client_secret: PEER_CLIENT.secret };
  const anonymousLogin = () => json(fetch(`${url}/customerlogin/auth/anonymous/login?tenant=acme&client_id=storefront-web`));
  const login = (bearer: string, password = BENCH_CUSTOMER.password) =>
    json(
      fetch(`${url}/customer/acme/login`, {
        method: 'POST',
        headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
        body: JSON.stringify({ ...BENCH_CUSTOMER, password }),
      }),
    );

  const rows: RoundTripRow[] = [];
  const measure = async <T>(route: string, request: () => Promise<T>): Promise<T> => {
    calls = [];
    const result = await request();
    const sorted = [...calls].sort();
    rows.push({
      route,
      reads: sorted.filter((c) => /^(Get|BatchGet|Query|Scan)/.test(c)).length,
      writes: sorted.filter((c) => /^(Put|Update|Delete)/.test(c)).length,
      calls: sorted,
    });
    return result;
  };
  try {
    // Warm the in-memory directory, secrets and keys, as on a running function.
    const warm = await anonymousLogin();
    await login(warm.access_token!);
    await fetch(`${url}/oauth/token`, form({ grant_type: 'client_credentials', ...credentials }));

    // The warm-up above cached the token; a share near zero makes the next request mint.
    broker.deps.serviceTokenReuseShare = Number.MIN_VALUE;
    await measure('service-token-minted', () =>
      fetch(`${url}/oauth/token`, form({ grant_type: 'client_credentials', ...credentials, scope: PEER_CLIENT.scope })),
    );
    broker.deps.serviceTokenReuseShare = 0.5;
    const token = await measure('service-token-cached', () =>
      json(fetch(`${url}/oauth/token`, form({ grant_type: 'client_credentials', ...credentials, scope: PEER_CLIENT.scope }))),
    );
    await measure('introspection', () => fetch(`${url}/oauth/introspect`, form({ token: token.access_token!, ...credentials })));
    const anonymous = await measure('anonymous-login', anonymousLogin);
    await measure('anonymous-refresh', () =>
      fetch(`${url}/customerlogin/auth/anonymous/refresh?tenant=acme&client_id=storefront-web&refresh_token=${anonymous.refresh_token}`),
    );
    const customer = await measure('customer-login', () => login(anonymous.access_token!));
    await measure('customer-login-after-failure', async () => {
      await login(anonymous.access_token!, 'wrong-password');
      calls = [];
      return login(anonymous.access_token!);
    });
    const refreshed = await measure('customer-refresh', () =>
      json(fetch(`${url}/customer/acme/refreshauthtoken?refreshToken=${customer.refresh_token}`)),
    );
    await measure('validate', () =>
      fetch(`${url}/customer/acme/validateauthtoken`, { headers: { authorization: `Bearer ${refreshed.access_token}` } }),
    );
    await measure('logout', () => fetch(`${url}/customer/acme/logout?accessToken=${refreshed.access_token}`));
    return rows;
  } finally {
    await broker.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export function formatRoundTrips(rows: readonly RoundTripRow[]): string[] {
  return [
    '| route | reads | writes | DynamoDB calls |',
    '|---|---:|---:|---|',
    ...rows.map((r) => `| ${r.route} | ${r.reads} | ${r.writes} | ${r.calls.join(', ')} |`),
  ];
}
