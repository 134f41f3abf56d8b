import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError, issuerUrl, readConfig } from '../../functions/config.js';
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
      seedProblem(
        seedWith((s) => (s.tenants.globex = { serviceClients: { 'orders-svc': { secret: 'another-secret-1', scopes: ['x'] } } })),
      ),
    ).toContain('tenants.globex.serviceClients.orders-svc: client id is already used by tenant acme');
  });

  it('refuses text that is not JSON, naming the file', () => {
    expect(seedProblem('{ nope')).toMatch(/^seed\.json: not valid JSON/);
  });

  it('refuses one email twice in a tenant, whatever its case', () => {
    const message = seedProblem(
      seedWith((s) => s.tenants.acme.customers.push({ email: 'ANN@Example.com', password: 'other-pass', customerNumber: 'C-2' })),
    );
    expect(message).toContain('tenants.acme.customers[1].email: same email as customers[0]');
  });

  it('lets two tenants have a customer with the same email', () => {
    expect(() =>
      parseSeed(
        seedWith((s) => (s.tenants.globex = { customers: [{ email: 'ann@example.com', password: 'pass-123', customerNumber: 'G-1' }] })),
      ),
    ).not.toThrow();
  });

  it('refuses a legal entity listed twice for one customer', () => {
    expect(seedProblem(seedWith((s) => (s.tenants.acme.customers[0].legalEntities = ['LE-1', 'LE-2', 'LE-1'])))).toContain(
      'tenants.acme.customers[0].legalEntities[2]: legal entity LE-1 is listed twice',
    );
  });

  it('refuses a scope starting with tenant=', () => {
    expect(
      seedProblem(seedWith((s) => (s.tenants.acme.serviceClients['orders-svc'].scopes = ['order.order_read', 'tenant=globex']))),
    ).toMatch(/tenants\.acme\.serviceClients\.orders-svc\.scopes\[1\]: must not start with tenant=/);
  });

  it('bounds identifiers that become table keys', () => {
    expect(seedProblem(seedWith((s) => (s.tenants.acme.customers[0].legalEntities = ['L'.repeat(1100)])))).toContain(
      'tenants.acme.customers[0].legalEntities[0]: must be at most 128 characters',
    );
    expect(
      seedProblem(
        seedWith(
          (s) => (s.tenants.acme.serviceClients['orders-svc'].scopes = Array.from({ length: 20 }, (_, i) => `scope.${'x'.repeat(60)}${i}`)),
        ),
      ),
    ).toContain('tenants.acme.serviceClients.orders-svc.scopes: joined by spaces, must be at most 1000 characters');
  });

  it('locates a JSON syntax error by line and column and quotes nothing of the file', () => {
    const text = '{\n  "tenants": {\n    "acme": {\n      "serviceClients": { "orders-svc": { "secret": "Sup3r-Secret-Value", } }\n';
    const message = seedProblem(text);
    expect(message).toBe('seed.json: not valid JSON at line 4, column 75 (expected a member name in double quotes)');
    // No piece of the file, however short, is in the message (beyond the file name it was given).
    const told = message.replace('seed.json', '');
    for (let length = 4; length <= text.length; length++) {
      for (let start = 0; start + length <= text.length; start++) {
        const piece = text.slice(start, start + length);
        if (/[A-Za-z0-9]{4}/.test(piece)) expect(told).not.toContain(piece);
      }
    }
  });

  it('refuses a member named twice instead of silently keeping the last', () => {
    const text = '{"tenants": {"acme": {}, "acme": {"storefrontClients": ["x"]}}}';
    expect(seedProblem(text)).toBe('seed.json: a member name is repeated in its object at line 1, column 26');
  });
});

describe('readConfig', () => {
  it('fails loudly, naming the variable, when one is missing', () => {
    expect(() => readConfig({}, ['tableName'])).toThrow(new ConfigError('environment variable TABLE_NAME is required'));
  });

  it('requires ISSUER, an absolute http(s) URL written as clients compare it', () => {
    expect(() => readConfig({}, ['issuer'])).toThrow(new ConfigError('environment variable ISSUER is required'));
    expect(readConfig({ ISSUER: 'https://login.example.com' }, ['issuer'])).toEqual({ issuer: 'https://login.example.com' });
    expect(issuerUrl('https://example.com/tenants/acme')).toBe('https://example.com/tenants/acme');
    expect(issuerUrl('http://127.0.0.1:3000')).toBe('http://127.0.0.1:3000');
    expect(issuerUrl('http://[::1]:3000')).toBe('http://[::1]:3000');
    for (const bad of [
      'example.com',
      '/relative',
      'https://example.com/',
      'ftp://example.com',
      'https://user:pw@example.com',
      'https://example.com?x=1',
      'https://example.com#f',
      'https://Example.com',
      'https://example.com:443',
    ]) {
      expect(() => issuerUrl(bad), bad).toThrow(ConfigError);
    }
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
