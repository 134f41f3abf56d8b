import { describe, expect, it } from 'vitest';
import { identityProviderOf } from '../../functions/domain/tenant.js';
import { parseProviderSecretsDocument, providerSecretOf, sameProviderSecrets } from '../../functions/domain/provider-secrets.js';
import { parseSeed, SeedError } from '../../functions/seed/schema.js';

/**
 * Seed `identityProviders` (operating.md "Seed file", contract section 10): the schema's rules and
 * defaults, and the provider-secrets document the seed writes.
 */

/** operating.md's example tenant, as written there (its `mail` block is issue 12's and is left out here). */
const OPERATING_EXAMPLE_PROVIDERS = {
  default: {
    issuer: 'https://login.example.com',
    clientId: 'acme-shop',
    clientSecret: 'change-me-idp',
    redirectUri: 'https://shop.acme.example/social/callback',
    customerIdentifier: 'EMAIL',
    autoProvision: true,
    audience: 'https://api.acme.example',
    authorizedParty: 'acme-shop',
    validation: 'jwks',
  },
};

const minimal = {
  issuer: 'https://idp.example',
  clientId: 'broker',
  clientSecret: 'provider-secret-1',
  redirectUri: 'https://shop.example/cb',
};

function seedOf(providers: unknown, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ tenants: { acme: { identityProviders: providers, ...extra } } });
}

function problem(text: string): string {
  try {
    parseSeed(text, 'seed.json');
  } catch (error) {
    expect(error).toBeInstanceOf(SeedError);
    return (error as Error).message;
  }
  throw new Error('expected the seed to be refused');
}

describe('seed identityProviders', () => {
  it("accepts operating.md's example block as written", () => {
    const seed = parseSeed(seedOf(OPERATING_EXAMPLE_PROVIDERS));
    expect(seed.tenants.acme!.identityProviders.default).toEqual(OPERATING_EXAMPLE_PROVIDERS.default);
  });

  it("refuses operating.md's `mail` block for now: signup mail is issue 12", () => {
    expect(problem(seedOf(OPERATING_EXAMPLE_PROVIDERS, { mail: { from: 'no-reply@acme.example' } }))).toContain('mail');
  });

  it('fills the defaults: EMAIL identification, no provisioning, JWKS validation, no aud / azp; none at all is {}', () => {
    expect(parseSeed(seedOf({ google: minimal })).tenants.acme!.identityProviders.google).toEqual({
      ...minimal,
      customerIdentifier: 'EMAIL',
      autoProvision: false,
      validation: 'jwks',
    });
    expect(parseSeed(JSON.stringify({ tenants: { acme: {} } })).tenants.acme!.identityProviders).toEqual({});
  });

  it('takes SUBJECT identification and introspection', () => {
    const parsed = parseSeed(seedOf({ kc: { ...minimal, customerIdentifier: 'SUBJECT', validation: 'introspection' } }));
    expect(parsed.tenants.acme!.identityProviders.kc).toMatchObject({ customerIdentifier: 'SUBJECT', validation: 'introspection' });
  });

  it('accepts an https issuer, with a path, and plain http only on a loopback address', () => {
    for (const issuer of [
      'https://login.example.com',
      'https://login.example.com/realms/acme',
      'https://tenant.b2clogin.com/tid/v2.0/',
      'http://127.0.0.1:8080',
      'http://127.0.0.2:9000/idp',
      'http://[::1]:4000',
    ]) {
      expect(() => parseSeed(seedOf({ p: { ...minimal, issuer } })), issuer).not.toThrow();
    }
  });

  it('refuses an issuer over plain http to any other host, localhost, another scheme, with a query, fragment or user', () => {
    const cases: Record<string, RegExp> = {
      'http://login.example.com': /issuer: must use https/,
      'http://localhost:8080': /issuer: must use https/,
      'http://10.0.0.1': /issuer: must use https/,
      'ftp://login.example.com': /issuer: must be an https URL/,
      'https://login.example.com?tenant=x': /issuer: must not have a query/,
      'https://login.example.com#x': /issuer: must not have a fragment/,
      'https://user:pw@login.example.com': /issuer: must not hold user information/,
      'login.example.com': /issuer: must be an absolute URI/,
      'https:/login.example.com': /issuer: must be an absolute URL/,
      [`https://login.example.com/${'a'.repeat(520)}`]: /issuer: must be at most 512 characters/,
    };
    for (const [issuer, expected] of Object.entries(cases)) {
      expect(problem(seedOf({ p: { ...minimal, issuer } })), issuer).toMatch(expected);
    }
  });

  it('requires an absolute https (or loopback http) redirect URI, without fragment', () => {
    expect(() => parseSeed(seedOf({ p: { ...minimal, redirectUri: 'http://127.0.0.1/cb' } }))).not.toThrow();
    // A storefront run locally names its own callback, as Emporix's showcase does under react-scripts:
    // the broker only repeats it to the provider, which holds the registration.
    expect(() => parseSeed(seedOf({ p: { ...minimal, redirectUri: 'http://localhost:3000/auth0' } }))).not.toThrow();
    expect(problem(seedOf({ p: { ...minimal, redirectUri: 'http://shop.localhost.example/cb' } }))).toContain('must use https');
    expect(problem(seedOf({ p: { ...minimal, redirectUri: 'http:/localhost/cb' } }))).toContain('redirectUri');
    expect(problem(seedOf({ p: { ...minimal, redirectUri: 'http://shop.example/cb' } }))).toContain('identityProviders.p.redirectUri');
    expect(problem(seedOf({ p: { ...minimal, redirectUri: 'com.example.app:/cb' } }))).toMatch(
      /redirectUri: must be an absolute https URI/,
    );
    expect(problem(seedOf({ p: { ...minimal, redirectUri: 'https://shop.example/cb#x' } }))).toContain('fragment');
    expect(problem(seedOf({ p: { ...minimal, redirectUri: '/cb' } }))).toContain('redirectUri');
  });

  it('bounds the secret as a client secret (12 to 512), and the client id, audience and authorized party', () => {
    expect(problem(seedOf({ p: { ...minimal, clientSecret: 'short' } }))).toMatch(/clientSecret: must be at least 12 characters/);
    expect(problem(seedOf({ p: { ...minimal, clientSecret: 'x'.repeat(513) } }))).toMatch(/clientSecret: must be at most 512/);
    expect(problem(seedOf({ p: { ...minimal, clientId: '' } }))).toContain('clientId');
    expect(problem(seedOf({ p: { ...minimal, clientId: 'has space' } }))).toContain('clientId: must be printable ASCII');
    expect(problem(seedOf({ p: { ...minimal, clientId: 'c'.repeat(256) } }))).toContain('clientId: must be at most 255');
    expect(problem(seedOf({ p: { ...minimal, audience: 'a'.repeat(257) } }))).toContain('audience: must be at most 256');
    expect(problem(seedOf({ p: { ...minimal, authorizedParty: 'x y' } }))).toContain('authorizedParty');
  });

  it('requires issuer, clientId, clientSecret and redirectUri; refuses unknown keys and values', () => {
    for (const key of ['issuer', 'clientId', 'clientSecret', 'redirectUri'] as const) {
      const { [key]: _dropped, ...rest } = minimal;
      expect(problem(seedOf({ p: rest })), key).toContain(`identityProviders.p.${key}`);
    }
    expect(problem(seedOf({ p: { ...minimal, clientSecrett: 'x' } }))).toContain('identityProviders.p');
    expect(problem(seedOf({ p: { ...minimal, customerIdentifier: 'PHONE' } }))).toContain('customerIdentifier');
    expect(problem(seedOf({ p: { ...minimal, validation: 'userinfo' } }))).toContain('validation');
    expect(problem(seedOf({ p: { ...minimal, autoProvision: 'yes' } }))).toContain('autoProvision');
  });

  it('names providers with 1-64 of A-Z a-z 0-9 . _ -', () => {
    expect(() => parseSeed(seedOf({ 'Google.prod_1-x': minimal }))).not.toThrow();
    expect(problem(seedOf({ 'bad name': minimal }))).toContain('must be 1-64 of A-Z a-z 0-9 . _ -');
    expect(problem(seedOf({ ['n'.repeat(65)]: minimal }))).toContain('must be 1-64');
    expect(problem(seedOf({ '': minimal }))).toContain('must be 1-64');
    // JSON.parse keeps it as an own member; the schema's record would make it a prototype and lose it.
    expect(problem(`{"tenants":{"acme":{"identityProviders":{"__proto__":${JSON.stringify(minimal)}}}}}`)).toContain(
      'tenants.acme.identityProviders: a provider may not be named __proto__',
    );
  });
});

describe('looking a provider up by a request’s name', () => {
  it('refuses a service or app client named __proto__, which a record would otherwise drop without a word', () => {
    const service = JSON.stringify({ secret: 'a-secret-of-twelve', scopes: ['s'] });
    expect(problem(`{"tenants":{"acme":{"serviceClients":{"__proto__":${service}}}}}`)).toContain(
      'tenants.acme.serviceClients: a client may not be named __proto__',
    );
    const app = JSON.stringify({ type: 'public', redirectUris: ['https://app.example/cb'] });
    expect(problem(`{"tenants":{"acme":{"appClients":{"__proto__":${app}}}}}`)).toContain(
      'tenants.acme.appClients: a client may not be named __proto__',
    );
  });

  it('finds own providers only: __proto__, constructor and toString name nothing', () => {
    const google = { name: 'google', issuer: 'https://idp.example', clientId: 'c', redirectUri: 'https://s.example/cb' } as never;
    const tenant = { identityProviders: { google } };
    expect(identityProviderOf(tenant, 'google')).toBe(google);
    for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'default']) {
      expect(identityProviderOf(tenant, name), name).toBeUndefined();
    }
    expect(identityProviderOf({}, 'google')).toBeUndefined();
  });
});

describe('the provider-secrets document', () => {
  it('reads secrets per tenant and name, skipping malformed entries, never inherited ones', () => {
    const document = parseProviderSecretsDocument(
      JSON.parse('{"acme":{"google":"s3cret-value-1","empty":"","number":7},"broken":"x","__proto__":{"google":"evil"}}'),
      'test',
    );
    expect(providerSecretOf(document, 'acme', 'google')).toBe('s3cret-value-1');
    expect(providerSecretOf(document, 'acme', 'empty')).toBeUndefined();
    expect(providerSecretOf(document, 'acme', 'number')).toBeUndefined();
    expect(providerSecretOf(document, 'acme', 'constructor')).toBeUndefined();
    expect(providerSecretOf(document, 'broken', 'google')).toBeUndefined();
    expect(providerSecretOf(document, 'globex', 'google')).toBeUndefined();
    expect(parseProviderSecretsDocument(undefined, 'test')).toEqual({});
    expect(() => parseProviderSecretsDocument(['a'], 'test')).toThrow(/test: the identity provider secrets are not a JSON object/);
  });

  it('compares documents by content, whatever the order', () => {
    expect(sameProviderSecrets({ a: { x: '1', y: '2' }, b: {} }, { a: { y: '2', x: '1' } })).toBe(true);
    expect(sameProviderSecrets({ a: { x: '1' } }, { a: { x: '2' } })).toBe(false);
    expect(sameProviderSecrets({ a: { x: '1' } }, {})).toBe(false);
  });
});
