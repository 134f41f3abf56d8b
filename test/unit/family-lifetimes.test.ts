import { describe, expect, it } from 'vitest';
import { parseSeed, SeedError } from '../../functions/seed/schema.js';
import { DEFAULT_SETTINGS, lifetimesOf, resolveSettings } from '../../functions/domain/tenant.js';

describe('lifetimesOf: one function of (tenant settings, family kind)', () => {
  it('gives each kind its own access, refresh and session maximum, the contract defaults first', () => {
    expect(lifetimesOf(DEFAULT_SETTINGS, 'anonymous')).toEqual({ access: 3599, refresh: 86399, sessionMax: 604800 });
    expect(lifetimesOf(DEFAULT_SETTINGS, 'customer')).toEqual({ access: 14399, refresh: 86399, sessionMax: 2592000 });
    // Contract section 5: 300 s access tokens; the family ends grantRefresh after the redemption.
    expect(lifetimesOf(DEFAULT_SETTINGS, 'grant')).toEqual({ access: 300, refresh: 2592000, sessionMax: 2592000 });
  });

  it('follows the tenant’s settings', () => {
    const settings = resolveSettings({
      lifetimes: { customerAccess: 60, customerRefresh: 600, customerSessionMax: 6000, anonymousAccess: 7 },
    });
    expect(lifetimesOf(settings, 'customer')).toEqual({ access: 60, refresh: 600, sessionMax: 6000 });
    expect(lifetimesOf(settings, 'anonymous')).toEqual({ access: 7, refresh: 86399, sessionMax: 604800 });
  });
});

describe('the grant lifetimes of the seed file (the authorization code and refresh grants)', () => {
  const seed = (lifetimes: Record<string, unknown>) => JSON.stringify({ tenants: { acme: { settings: { lifetimes } } } });

  it('are kept and used by the grant family', () => {
    const parsed = parseSeed(seed({ grantAccess: 120, grantRefresh: 86400, customerAccess: 100 }));
    expect(parsed.tenants.acme!.settings.lifetimes).toEqual({ grantAccess: 120, grantRefresh: 86400, customerAccess: 100 });
    expect(lifetimesOf(resolveSettings(parsed.tenants.acme!.settings), 'grant')).toEqual({
      access: 120,
      refresh: 86400,
      sessionMax: 86400,
    });
  });

  it('are still validated', () => {
    expect(() => parseSeed(seed({ grantAccess: -1 }))).toThrow(SeedError);
    expect(() => parseSeed(seed({ grantRefresh: 'long' }))).toThrow(/grantRefresh/);
  });
});
