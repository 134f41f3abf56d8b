import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../functions/adapters/memory-store.js';
import { LocalSecretsFile } from '../../functions/local/secrets-file.js';
import { applySeed } from '../../functions/seed/apply.js';
import { parseSeed, SeedError } from '../../functions/seed/schema.js';
import { seedTarget, storesOf } from '../../functions/wiring.js';

/** Seed `mail` (operating.md "Seed file", contract section 11): the schema's rules and where it is kept. */

/** operating.md's example, as written there. */
const OPERATING_EXAMPLE_MAIL = { from: 'no-reply@acme.example', optInLink: 'https://shop.acme.example/confirm?token={token}' };

function seedOf(mail: unknown): string {
  return JSON.stringify({ tenants: { acme: mail === undefined ? {} : { mail } } });
}

function problem(mail: unknown): string {
  try {
    parseSeed(seedOf(mail), 'seed.json');
  } catch (error) {
    expect(error).toBeInstanceOf(SeedError);
    return (error as Error).message;
  }
  throw new Error('expected the seed to be refused');
}

describe('seed mail', () => {
  it("accepts operating.md's example block as written, and no block at all", () => {
    expect(parseSeed(seedOf(OPERATING_EXAMPLE_MAIL), 'seed.json').tenants.acme!.mail).toEqual(OPERATING_EXAMPLE_MAIL);
    expect(parseSeed(seedOf(undefined), 'seed.json').tenants.acme!.mail).toBeUndefined();
  });

  it('accepts loopback http links (a storefront run locally), a fragment, and {token} in the path', () => {
    for (const optInLink of [
      'http://localhost:3000/confirm/{token}',
      'http://127.0.0.1:8080/c?t={token}',
      'http://[::1]/c?t={token}',
      'https://shop.example/#/confirm/{token}',
    ]) {
      expect(parseSeed(seedOf({ from: 'a@b.example', optInLink }), 'seed.json').tenants.acme!.mail?.optInLink).toBe(optInLink);
    }
  });

  it('refuses a link without {token}, plain http to another host, another scheme, or {token} in the host', () => {
    expect(problem({ from: 'a@b.example', optInLink: 'https://shop.example/confirm' })).toMatch(/mail\.optInLink.*must contain \{token\}/s);
    expect(problem({ from: 'a@b.example', optInLink: 'http://shop.example/c?t={token}' })).toMatch(/mail\.optInLink.*must use https/s);
    expect(problem({ from: 'a@b.example', optInLink: 'javascript:alert({token})' })).toMatch(/mail\.optInLink/);
    expect(problem({ from: 'a@b.example', optInLink: '/confirm?t={token}' })).toMatch(/mail\.optInLink.*absolute/s);
    expect(problem({ from: 'a@b.example', optInLink: 'https://{token}.example/' })).toMatch(/mail\.optInLink.*host/s);
    expect(problem({ from: 'a@b.example', optInLink: 'https://u:p@shop.example/{token}' })).toMatch(/user information/);
  });

  it('refuses a sender that is not an email, a missing field, and unknown fields', () => {
    expect(problem({ from: 'Acme <no-reply@acme.example>', optInLink: OPERATING_EXAMPLE_MAIL.optInLink })).toMatch(/mail\.from/);
    expect(problem({ optInLink: OPERATING_EXAMPLE_MAIL.optInLink })).toMatch(/mail\.from/);
    expect(problem({ from: 'a@b.example' })).toMatch(/mail\.optInLink/);
    expect(problem({ ...OPERATING_EXAMPLE_MAIL, replyTo: 'x@y.example' })).toMatch(/replyTo/);
  });

  it('is applied into the tenant item, and a seed without it removes it', async () => {
    const store = new MemoryStore();
    const secrets = new LocalSecretsFile(join(mkdtempSync(join(tmpdir(), 'seed-mail-')), 'secrets.json'));
    secrets.ensure();
    const target = seedTarget(storesOf({ memory: store }), { clientSecrets: secrets, signingKeys: secrets, providerSecrets: secrets });
    await applySeed(parseSeed(seedOf(OPERATING_EXAMPLE_MAIL), 'seed.json'), target, { now: 1_800_000_000 });
    expect((await store.getTenant('acme'))?.mail).toEqual(OPERATING_EXAMPLE_MAIL);
    await applySeed(parseSeed(seedOf(undefined), 'seed.json'), target, { now: 1_800_000_001 });
    expect((await store.getTenant('acme'))?.mail).toBeUndefined();
  });
});
