import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError, readConfig } from '../../functions/config.js';
import { parseSeed, SeedError } from '../../functions/seed/schema.js';

const demo = readFileSync(new URL('../../bin/demo-seed.json', import.meta.url), 'utf8');

function seedWith(mutate: (seed: any) => void): string {
  const seed = JSON.parse(demo);
  mutate(seed);
  return JSON.stringify(seed);
}

function seedProblem(text: string): string {
  try {
    parseSeed(text, 'seed.json');
  } catch (error) {
    expect(error).toBeInstanceOf(SeedError);
    return (error as Error).message;
  }
  throw new Error('expected the seed to be refused');
}

describe('parseSeed', () => {
  it('accepts the shipped demo seed and fills the defaults', () => {
    const seed = parseSeed(demo);
    expect(seed.tenants.acme!.serviceClients['reports-svc']).toMatchObject({ warmup: false, profile: 'oauth2' });
    expect(seed.tenants.acme!.serviceClients['orders-svc']).toMatchObject({ warmup: true, profile: 'emporix' });
  });

  it('names the offending field by its path', () => {
    expect(seedProblem(seedWith((s) => (s.tenants.acme.serviceClients['orders-svc'].scopes = ['ok', 'bad"scope'])))).toContain(
      'tenants.acme.serviceClients.orders-svc.scopes[1]',
    );
    expect(seedProblem(seedWith((s) => (s.tenants.acme.customers[0].password = 'short')))).toMatch(
      /tenants\.acme\.customers\[0\]\.password: must be at least 6 characters/,
    );
    expect(seedProblem(seedWith((s) => (s.tenants.acme.settings.lifetimes.serviceAccess = -1)))).toContain(
      'tenants.acme.settings.lifetimes.serviceAccess',
    );
  });

  it('refuses a misspelt key instead of ignoring it', () => {
    expect(seedProblem(seedWith((s) => (s.tenants.acme.settings.refreshGraceSecond = 5)))).toContain('tenants.acme.settings');
  });

  it('refuses a malformed tenant and a client id used by two tenants', () => {
    expect(seedProblem(seedWith((s) => (s.tenants.Bad_Tenant = {})))).toMatch(/tenants\.Bad_Tenant/);
    expect(
      seedProblem(seedWith((s) => (s.tenants.globex = { serviceClients: { 'orders-svc': { secret: 'another-secret-1', scopes: ['x'] } } }))),
    ).toContain('tenants.globex.serviceClients.orders-svc: client id is already used by tenant acme');
  });

  it('refuses text that is not JSON, naming the file', () => {
    expect(seedProblem('{ nope')).toMatch(/^seed\.json: not valid JSON/);
  });
});

describe('readConfig', () => {
  it('fails loudly, naming the variable, when one is missing', () => {
    expect(() => readConfig({}, ['tableName'])).toThrow(new ConfigError('environment variable TABLE_NAME is required'));
  });

  it('validates numbers and applies defaults', () => {
    expect(readConfig({}, ['serviceTokenReuseShare', 'warmupIntervalSeconds'])).toEqual({
      serviceTokenReuseShare: 0.5,
      warmupIntervalSeconds: 300,
    });
    expect(() => readConfig({ SERVICE_TOKEN_REUSE_SHARE: '1.5' }, ['serviceTokenReuseShare'])).toThrow(/\(0, 1\]/);
    expect(() => readConfig({ WARMUP_INTERVAL_SECONDS: 'soon' }, ['warmupIntervalSeconds'])).toThrow(/positive integer/);
  });
});
