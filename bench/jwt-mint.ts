/**
 * `npx tsx bench/jwt-mint.ts [mints per round] [rounds]`: what a JWT access token (contract
 * section 9) costs against an opaque one, in CPU, on the memory store (no I/O: the difference is
 * the signature and the longer token). Not part of `npm run bench`: a one-off for issue 10.
 *
 * Measures, alternating the two forms each round and reporting the median round:
 *  - a service-token mint (mintServiceToken: the token, the record, the sealed cache entry);
 *  - parseToken on the minted token (every introspection, revocation and validation does it);
 *  - a cached service token (issueServiceToken on a cache hit: read, unseal, answer).
 */
import { cpuUsage } from 'node:process';
import { MemoryStore } from '../functions/adapters/memory-store.js';
import { DEFAULTS } from '../functions/config.js';
import { newSigningKey } from '../functions/domain/signing-keys.js';
import { resolveSettings, type ServiceClient } from '../functions/domain/tenant.js';
import { parseToken } from '../functions/domain/tokens.js';
import { silentLogger } from '../functions/log.js';
import { issueServiceToken, mintServiceToken } from '../functions/use-cases/service-tokens.js';
import { buildDeps } from '../functions/wiring.js';

const perRound = Number(process.argv[2] ?? 2000);
const rounds = Number(process.argv[3] ?? 7);

const store = new MemoryStore();
const now = Math.floor(Date.now() / 1000);
const { privateKey } = await newSigningKey(now);
const deps = buildDeps(
  {
    table: { memory: store },
    keys: {
      name: 'bench',
      clientSecrets: async () => ({}),
      cacheKey: async () => Buffer.alloc(32, 7),
      signingKeys: async () => [privateKey],
    },
  },
  { clock: () => now, log: silentLogger, serviceTokenReuseShare: DEFAULTS.serviceTokenReuseShare, hold: DEFAULTS.localHold },
  'https://broker.example',
);
await store.putTenant({ tenant: 'acme', settings: resolveSettings(undefined), storefrontClients: [] });
const base = { tenant: 'acme', scopes: ['order.order_read', 'order.order_manage'], warmup: false, profile: 'oauth2' } as const;
const clients: Record<'opaque' | 'jwt', ServiceClient> = {
  opaque: { ...base, clientId: 'opaque-svc', scopes: [...base.scopes] },
  jwt: { ...base, clientId: 'jwt-svc', scopes: [...base.scopes], accessTokenFormat: 'jwt', audience: 'https://orders.internal' },
};
for (const client of Object.values(clients)) await store.putServiceClient(client);

/** CPU microseconds per operation over `count` runs of `op`. */
async function cpuPerOp(count: number, op: () => Promise<unknown> | unknown): Promise<number> {
  const before = cpuUsage();
  for (let i = 0; i < count; i++) await op();
  const used = cpuUsage(before);
  return (used.user + used.system) / count;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const results: Record<string, Record<'opaque' | 'jwt', number[]>> = {
  'mint (record + sealed cache entry)': { opaque: [], jwt: [] },
  parseToken: { opaque: [], jwt: [] },
  'cached token (cache hit)': { opaque: [], jwt: [] },
};
const sample: Record<'opaque' | 'jwt', string> = { opaque: '', jwt: '' };

// One warm-up round, not counted: the JIT, the imported key, the derived cache keys.
for (let round = -1; round < rounds; round++) {
  for (const form of ['opaque', 'jwt'] as const) {
    const client = clients[form];
    const mint = await cpuPerOp(perRound, async () => {
      sample[form] = (await mintServiceToken(deps, client, client.scopes)).accessToken;
    });
    const token = sample[form];
    const parse = await cpuPerOp(perRound * 10, () => parseToken(token));
    const cached = await cpuPerOp(perRound, () => issueServiceToken(deps, client, undefined));
    if (round < 0) continue;
    results['mint (record + sealed cache entry)']![form].push(mint);
    results.parseToken![form].push(parse);
    results['cached token (cache hit)']![form].push(cached);
  }
}

console.log(`Node ${process.version}; ${rounds} rounds of ${perRound} mints (parseToken: ${perRound * 10}), median round`);
console.log(`token length: opaque ${sample.opaque.length}, jwt ${sample.jwt.length} characters`);
console.log('| operation | opaque CPU µs | JWT CPU µs | JWT / opaque |');
console.log('|---|---:|---:|---:|');
for (const [name, { opaque, jwt }] of Object.entries(results)) {
  const [o, j] = [median(opaque), median(jwt)];
  console.log(`| ${name} | ${o.toFixed(1)} | ${j.toFixed(1)} | ${(j / o).toFixed(2)} |`);
}
