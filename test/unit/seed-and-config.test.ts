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
    expect(seedProblem(seedWith((s) => (s.tenants.Bad_Tenant = {})))).toContain('tenants.Bad_Tenant: tenant must match ^[a-z][a-z0-9]+$');
    expect(
      seedProblem(
        seedWith((s) => (s.tenants.globex = { serviceClients: { 'orders-svc': { secret: 'another-secret-1', scopes: ['x'] } } })),
      ),
    ).toContain('tenants.globex.serviceClients.orders-svc: client id is already used by tenant acme (service client)');
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

describe('parseSeed: app clients (contract section 8) and access-token formats (section 9)', () => {
  const app = (client: Record<string, unknown>) => seedWith((s) => (s.tenants.acme.appClients = { 'shop-app': client }));
  const publicApp = (redirectUris: unknown[]) => app({ type: 'public', redirectUris });
  const redirectProblem = (uri: string) => seedProblem(publicApp([uri]));

  it('fills the defaults: opaque tokens, no scopes, no audience; a service client gets opaque tokens too', () => {
    const seed = parseSeed(publicApp(['com.acme.shop:/callback']));
    expect(seed.tenants.acme!.appClients['shop-app']).toEqual({
      type: 'public',
      redirectUris: ['com.acme.shop:/callback'],
      scopes: [],
      accessTokenFormat: 'opaque',
    });
    expect(seed.tenants.acme!.serviceClients['orders-svc']).toMatchObject({ accessTokenFormat: 'opaque' });
    expect(seed.tenants.acme!.serviceClients['orders-svc']).not.toHaveProperty('audience');
    expect(parseSeed(seedWith((s) => delete s.tenants.acme.appClients)).tenants.acme!.appClients).toEqual({});
  });

  it('accepts the demo seed’s public app client and the JWT service client', () => {
    const seed = parseSeed(demo);
    expect(seed.tenants.acme!.appClients['demo-app']).toMatchObject({ type: 'public', redirectUris: ['http://127.0.0.1/callback'] });
    expect(seed.tenants.acme!.serviceClients['reports-svc']).toMatchObject({ accessTokenFormat: 'jwt' });
  });

  it('keeps what the seed says: a confidential client with its secret, scopes, JWT format and audience', () => {
    const seed = parseSeed(
      app({
        type: 'confidential',
        secret: 'partner-secret-1',
        redirectUris: ['https://partner.example/cb', 'https://partner.example/cb?x=1'],
        scopes: ['customer.customer_read_own'],
        accessTokenFormat: 'jwt',
        audience: 'https://api.acme.example',
      }),
    );
    expect(seed.tenants.acme!.appClients['shop-app']).toEqual({
      type: 'confidential',
      secret: 'partner-secret-1',
      redirectUris: ['https://partner.example/cb', 'https://partner.example/cb?x=1'],
      scopes: ['customer.customer_read_own'],
      accessTokenFormat: 'jwt',
      audience: 'https://api.acme.example',
    });
    const service = parseSeed(
      seedWith((s) =>
        Object.assign(s.tenants.acme.serviceClients['orders-svc'], { accessTokenFormat: 'jwt', audience: 'urn:acme:orders' }),
      ),
    );
    expect(service.tenants.acme!.serviceClients['orders-svc']).toMatchObject({ accessTokenFormat: 'jwt', audience: 'urn:acme:orders' });
  });

  it('refuses a secret for a public client and requires one, as long as a service client’s, for a confidential client', () => {
    expect(seedProblem(app({ type: 'public', secret: 'shop-secret-0001', redirectUris: ['com.acme.shop:/cb'] }))).toContain(
      'tenants.acme.appClients.shop-app.secret: a public client has no secret (PKCE is its proof)',
    );
    expect(seedProblem(app({ type: 'confidential', redirectUris: ['https://partner.example/cb'] }))).toContain(
      'tenants.acme.appClients.shop-app.secret: is required for a confidential client',
    );
    expect(seedProblem(app({ type: 'confidential', secret: 'short', redirectUris: ['https://partner.example/cb'] }))).toContain(
      'tenants.acme.appClients.shop-app.secret: must be at least 12 characters',
    );
    expect(seedProblem(app({ type: 'confidential', secret: 's'.repeat(513), redirectUris: ['https://partner.example/cb'] }))).toContain(
      'tenants.acme.appClients.shop-app.secret: must be at most 512 characters',
    );
  });

  it('refuses a missing or unknown type, format or key', () => {
    expect(seedProblem(app({ redirectUris: ['com.acme.shop:/cb'] }))).toContain('tenants.acme.appClients.shop-app.type');
    expect(seedProblem(app({ type: 'native', redirectUris: ['com.acme.shop:/cb'] }))).toContain('tenants.acme.appClients.shop-app.type');
    expect(seedProblem(app({ type: 'public', redirectUris: ['com.acme.shop:/cb'], accessTokenFormat: 'saml' }))).toContain(
      'tenants.acme.appClients.shop-app.accessTokenFormat',
    );
    expect(seedProblem(app({ type: 'public', redirectUris: ['com.acme.shop:/cb'], redirectUri: 'x' }))).toContain(
      'tenants.acme.appClients.shop-app',
    );
    expect(seedProblem(seedWith((s) => (s.tenants.acme.serviceClients['orders-svc'].accessTokenFormat = 'JWT')))).toContain(
      'tenants.acme.serviceClients.orders-svc.accessTokenFormat',
    );
    expect(
      seedProblem(seedWith((s) => (s.tenants.acme.appClients = { 'bad id!': { type: 'public', redirectUris: ['https://a.example/'] } }))),
    ).toContain('must be 1-64 of A-Z a-z 0-9 . _ -');
  });

  it('accepts https, loopback http on 127.0.0.1 or [::1] with or without a port, and a reverse-domain private-use scheme', () => {
    const uris = [
      'https://partner.example/cb',
      'https://partner.example:8443/oauth/cb?source=app',
      'http://127.0.0.1/callback',
      'http://127.0.0.1:51004/callback',
      'http://[::1]/callback',
      'http://[::1]:8080/',
      'com.acme.shop:/callback',
      'com.acme.shop://callback',
    ];
    expect(parseSeed(publicApp(uris)).tenants.acme!.appClients['shop-app']!.redirectUris).toEqual(uris);
  });

  it('requires at least one redirect URI, and at most 32', () => {
    expect(seedProblem(publicApp([]))).toContain('tenants.acme.appClients.shop-app.redirectUris: must name at least one redirect URI');
    expect(seedProblem(app({ type: 'public' }))).toContain('tenants.acme.appClients.shop-app.redirectUris');
    const many = Array.from({ length: 33 }, (_, i) => `https://partner.example/cb${i}`);
    expect(seedProblem(publicApp(many))).toContain('tenants.acme.appClients.shop-app.redirectUris: must name at most 32 redirect URIs');
    expect(() => parseSeed(publicApp(many.slice(0, 32)))).not.toThrow();
  });

  it('refuses a redirect URI with a fragment, even an empty one (RFC 6749 section 3.1.2)', () => {
    expect(redirectProblem('https://partner.example/cb#done')).toContain(
      'tenants.acme.appClients.shop-app.redirectUris[0]: must not have a fragment (RFC 6749 section 3.1.2)',
    );
    expect(redirectProblem('https://partner.example/cb#')).toContain('must not have a fragment');
    expect(redirectProblem('com.acme.shop:/cb#x')).toContain('must not have a fragment');
  });

  it('refuses plain http to any host but a loopback IP literal, and localhost (RFC 8252 sections 7.3 and 8.3)', () => {
    for (const uri of ['http://partner.example/cb', 'http://127.0.0.2/cb', 'http://10.0.0.1/cb', 'http://[::2]/cb']) {
      expect(redirectProblem(uri), uri).toContain(
        'redirectUris[0]: must use https: plain http is allowed only for a loopback IP literal, 127.0.0.1 or [::1] (RFC 8252 section 7.3)',
      );
    }
    for (const uri of ['http://localhost/cb', 'http://localhost:8080/cb', 'http://LOCALHOST/cb', 'http://app.localhost/cb']) {
      expect(redirectProblem(uri), uri).toContain('redirectUris[0]: must not name localhost: use http://127.0.0.1 or http://[::1]');
    }
  });

  it('refuses a loopback redirect URI in a form that would never match on another port', () => {
    // domain/authorization.ts compares loopback URIs in the URL parser's form, port removed.
    expect(redirectProblem('http://127.0.0.1')).toContain(
      'redirectUris[0]: must be written as http://127.0.0.1/ (lower case, a path, no :80)',
    );
    expect(redirectProblem('http://127.0.0.1:80/cb')).toContain('must be written as http://127.0.0.1/cb');
    expect(redirectProblem('HTTP://127.0.0.1/cb')).toContain('must be written as http://127.0.0.1/cb');
    expect(redirectProblem('http://127.1/cb')).toContain('must be written as http://127.0.0.1/cb');
    expect(redirectProblem('http://[0:0:0:0:0:0:0:1]/cb')).toContain('must be written as http://[::1]/cb');
    expect(redirectProblem('http://127.0.0.1/a/../cb')).toContain('must be written as http://127.0.0.1/cb');
  });

  it('refuses a private-use scheme that is not a reverse domain name, and other schemes (RFC 8252 section 7.1)', () => {
    for (const uri of [
      'myapp:/callback',
      'myapp://callback',
      'javascript:alert(1)',
      'data:text/html,x',
      'file:///etc/passwd',
      'ftp://a.example/',
      'com.:/cb',
      '.com.acme:/cb',
    ]) {
      expect(redirectProblem(uri), uri).toMatch(
        /redirectUris\[0\]: (must be https, loopback http, or a private-use scheme in reverse-domain form|must be an absolute URI)/,
      );
    }
    expect(redirectProblem('com.acme.shop:')).toContain('redirectUris[0]: must have a path after the scheme');
  });

  it('refuses a redirect URI that is not absolute, not plain ASCII, holds user information, or is too long', () => {
    for (const uri of ['/callback', 'partner.example/cb', 'https:/partner.example/cb', 'https:///partner.example/cb', '']) {
      expect(redirectProblem(uri), uri).toMatch(/redirectUris\[0\]: must be an absolute URI/);
    }
    for (const uri of ['https://partner.example/c b', 'https://partner.example/c\nb', 'https://partner.example/café']) {
      expect(redirectProblem(uri), uri).toContain('redirectUris[0]: must be ASCII without spaces or control characters');
    }
    expect(redirectProblem('https://user:pw@partner.example/cb')).toContain('redirectUris[0]: must not hold user information');
    expect(redirectProblem(`https://partner.example/${'p'.repeat(490)}`)).toContain('redirectUris[0]: must be at most 512 characters');
    expect(() => parseSeed(publicApp([`https://partner.example/${'p'.repeat(488)}`]))).not.toThrow();
  });

  it('refuses an audience that is not an absolute URI, has a fragment or is too long, for app and service clients', () => {
    const withAudience = (audience: string) =>
      seedProblem(seedWith((s) => (s.tenants.acme.serviceClients['orders-svc'].audience = audience)));
    expect(withAudience('reports')).toContain('tenants.acme.serviceClients.orders-svc.audience: must be an absolute URI');
    expect(withAudience('https://api.acme.example/#x')).toContain('audience: must not have a fragment (RFC 8707 section 2)');
    expect(withAudience(`https://${'a'.repeat(250)}.example`)).toContain('audience: must be at most 256 characters');
    expect(seedProblem(app({ type: 'public', redirectUris: ['com.acme.shop:/cb'], audience: '' }))).toContain(
      'tenants.acme.appClients.shop-app.audience: must be an absolute URI',
    );
  });

  it('holds an app client’s scopes to the service clients’ rules', () => {
    expect(seedProblem(app({ type: 'public', redirectUris: ['com.acme.shop:/cb'], scopes: ['ok', 'tenant=globex'] }))).toContain(
      'tenants.acme.appClients.shop-app.scopes[1]: must not start with tenant=',
    );
    expect(seedProblem(app({ type: 'public', redirectUris: ['com.acme.shop:/cb'], scopes: ['bad"scope'] }))).toContain(
      'tenants.acme.appClients.shop-app.scopes[0]: must be an RFC 6749 scope token',
    );
    const many = Array.from({ length: 20 }, (_, i) => `scope.${'x'.repeat(60)}${i}`);
    expect(seedProblem(app({ type: 'public', redirectUris: ['com.acme.shop:/cb'], scopes: many }))).toContain(
      'tenants.acme.appClients.shop-app.scopes: joined by spaces, must be at most 1000 characters',
    );
  });

  it('refuses an app client id used by another tenant, or by a service client of any tenant, naming the other', () => {
    const otherTenant = (clients: Record<string, unknown>) => seedWith((s) => (s.tenants.globex = clients));
    expect(seedProblem(otherTenant({ appClients: { 'demo-app': { type: 'public', redirectUris: ['https://g.example/'] } } }))).toContain(
      'tenants.globex.appClients.demo-app: client id is already used by tenant acme (app client)',
    );
    expect(seedProblem(otherTenant({ appClients: { 'orders-svc': { type: 'public', redirectUris: ['https://g.example/'] } } }))).toContain(
      'tenants.globex.appClients.orders-svc: client id is already used by tenant acme (service client)',
    );
    expect(seedProblem(otherTenant({ serviceClients: { 'demo-app': { secret: 'globex-secret-1', scopes: ['x'] } } }))).toContain(
      'tenants.globex.serviceClients.demo-app: client id is already used by tenant acme (app client)',
    );
    // Within one tenant, too: one id, one client.
    expect(
      seedProblem(seedWith((s) => (s.tenants.acme.appClients['orders-svc'] = { type: 'public', redirectUris: ['https://a.example/'] }))),
    ).toContain('tenants.acme.appClients.orders-svc: client id is already used by tenant acme (service client)');
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

  it('reads the near cache bound: 5 s by default, 0 turns it off, anything else is refused', () => {
    const bound = (value?: string) =>
      readConfig(value === undefined ? {} : { SERVICE_TOKEN_NEAR_CACHE_SECONDS: value }, ['serviceTokenNearCacheSeconds'])
        .serviceTokenNearCacheSeconds;
    expect(bound()).toBe(5);
    expect(bound('0')).toBe(0);
    expect(bound('2.5')).toBe(2.5);
    for (const bad of ['-1', 'soon', '1e3', ' ', '3601', '0x10']) {
      expect(() => bound(bad), bad).toThrow(/SERVICE_TOKEN_NEAR_CACHE_SECONDS must be a number of seconds from 0 to 3600/);
    }
  });
});
