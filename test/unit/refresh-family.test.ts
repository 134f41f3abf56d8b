import { describe, expect, it } from 'vitest';
import {
  checkAccessToken,
  classifyFailedRefresh,
  effectiveExpiry,
  legalEntityOf,
  sessionEnded,
  type RefreshFamily,
} from '../../functions/domain/refresh-family.js';
import { mintToken, newSelector } from '../../functions/domain/tokens.js';

/** Epoch seconds; every time below is relative to it. */
const NOW = 1_750_000_000;
const GRACE = 10;

/**
 * A customer session family that has been refreshed twice: `older` was consumed first, then
 * `consumed` (at `rotatedAt`), which produced the current access and refresh tokens. The access
 * token of the previous rotation is still in the previous slot. All tokens share one selector.
 */
function refreshedFamily(rotatedAt = NOW - 3) {
  const selector = newSelector();
  const older = mintToken(selector);
  const consumed = mintToken(selector);
  const previousAccess = mintToken(selector);
  const access = mintToken(selector);
  const refresh = mintToken(selector);
  const family: RefreshFamily = {
    selector,
    kind: 'customer',
    tenant: 'acme',
    clientId: 'storefront',
    sessionId: '0b6f1c36-3a55-4a4e-9d0f-3f1f4c8f2b11',
    issuedAt: NOW - 1000,
    context: { currency: 'EUR' },
    customer: { customerNumber: 'C-1001', email: 'ada@example.com', legalEntities: [] },
    access: { hash: access.hash, expiresAt: rotatedAt + 14_399 },
    previousAccess: { hash: previousAccess.hash, expiresAt: rotatedAt + 60 },
    refresh: { hash: refresh.hash, expiresAt: rotatedAt + 86_399 },
    rotation: { consumedHash: consumed.hash, rotatedAt, sealedSuccessor: 'sealed-successor-of-consumed' },
    consumedHashes: [older.hash, consumed.hash],
  };
  return { family, selector, older, consumed, previousAccess, access, refresh };
}

describe('checkAccessToken', () => {
  it('accepts the current access token until the second it expires, then reports it expired', () => {
    const { family, access } = refreshedFamily();
    const expiresAt = family.access.expiresAt;
    expect(checkAccessToken(family, access.hash, 'acme', NOW)).toBe('valid');
    expect(checkAccessToken(family, access.hash, 'acme', expiresAt - 1)).toBe('valid');
    expect(checkAccessToken(family, access.hash, 'acme', expiresAt)).toBe('expired');
    expect(checkAccessToken(family, access.hash, 'acme', expiresAt + 3600)).toBe('expired');
  });

  it('still accepts the previous access token (a request in flight during a refresh) until its own expiry', () => {
    const { family, previousAccess } = refreshedFamily();
    const expiresAt = family.previousAccess!.expiresAt;
    expect(checkAccessToken(family, previousAccess.hash, 'acme', expiresAt - 1)).toBe('valid');
    expect(checkAccessToken(family, previousAccess.hash, 'acme', expiresAt)).toBe('expired');
  });

  it('works for a fresh family that has no previous access token', () => {
    const { family, access, previousAccess } = refreshedFamily();
    const fresh: RefreshFamily = { ...family, previousAccess: undefined, rotation: undefined };
    expect(checkAccessToken(fresh, access.hash, 'acme', NOW)).toBe('valid');
    expect(checkAccessToken(fresh, previousAccess.hash, 'acme', NOW)).toBe('invalid');
  });

  it('refuses the refresh token, consumed tokens and unknown tokens of the family as access tokens', () => {
    const { family, refresh, consumed, older, selector } = refreshedFamily();
    expect(checkAccessToken(family, refresh.hash, 'acme', NOW)).toBe('invalid');
    expect(checkAccessToken(family, consumed.hash, 'acme', NOW)).toBe('invalid');
    expect(checkAccessToken(family, older.hash, 'acme', NOW)).toBe('invalid');
    expect(checkAccessToken(family, mintToken(selector).hash, 'acme', NOW)).toBe('invalid');
  });

  it('calls a token of a revoked family invalid, not expired, so the storefront does not just refresh', () => {
    const { family, access, previousAccess } = refreshedFamily();
    const revoked: RefreshFamily = { ...family, revokedAt: NOW - 1 };
    expect(checkAccessToken(revoked, access.hash, 'acme', NOW)).toBe('invalid');
    expect(checkAccessToken(revoked, previousAccess.hash, 'acme', NOW)).toBe('invalid');
    // Even once the token has also expired.
    expect(checkAccessToken(revoked, access.hash, 'acme', family.access.expiresAt + 1)).toBe('invalid');
  });

  it('never accepts a token of tenant A on tenant B, live or expired', () => {
    const { family, access } = refreshedFamily();
    expect(checkAccessToken(family, access.hash, 'globex', NOW)).toBe('invalid');
    expect(checkAccessToken(family, access.hash, 'globex', family.access.expiresAt + 1)).toBe('invalid');
  });
});

describe('classifyFailedRefresh', () => {
  const acme = (hash: string, clientId?: string) => ({ hash, tenant: 'acme', clientId });

  it('answers a retry with the just-consumed token inside the grace window with the same sealed successor', () => {
    const { family, consumed } = refreshedFamily(NOW);
    expect(classifyFailedRefresh(family, acme(consumed.hash, 'storefront'), NOW, GRACE)).toEqual({
      verdict: 'retry',
      sealedSuccessor: 'sealed-successor-of-consumed',
    });
    expect(classifyFailedRefresh(family, acme(consumed.hash, 'storefront'), NOW + GRACE - 1, GRACE)).toEqual({
      verdict: 'retry',
      sealedSuccessor: 'sealed-successor-of-consumed',
    });
  });

  it('includes the last second of the grace window and treats the next one as theft', () => {
    const { family, consumed } = refreshedFamily(NOW);
    expect(classifyFailedRefresh(family, acme(consumed.hash), NOW + GRACE, GRACE).verdict).toBe('retry');
    expect(classifyFailedRefresh(family, acme(consumed.hash), NOW + GRACE + 1, GRACE)).toEqual({ verdict: 'reuse' });
  });

  it('follows the tenant’s grace setting: with 0 s only a retry in the same second is answered', () => {
    const { family, consumed } = refreshedFamily(NOW);
    expect(classifyFailedRefresh(family, acme(consumed.hash), NOW, 0).verdict).toBe('retry');
    expect(classifyFailedRefresh(family, acme(consumed.hash), NOW + 1, 0).verdict).toBe('reuse');
    expect(classifyFailedRefresh(family, acme(consumed.hash), NOW + 59, 60).verdict).toBe('retry');
  });

  it('treats an earlier consumed refresh token as theft, even inside the latest grace window', () => {
    const { family, older } = refreshedFamily(NOW);
    expect(classifyFailedRefresh(family, acme(older.hash), NOW + 1, GRACE)).toEqual({ verdict: 'reuse' });
  });

  it('refuses a forged token under the family selector without revoking: it was never consumed', () => {
    const { family, selector } = refreshedFamily();
    expect(classifyFailedRefresh(family, acme(mintToken(selector).hash), NOW, GRACE)).toEqual({ verdict: 'invalid' });
    const neverRotated: RefreshFamily = { ...family, rotation: undefined, consumedHashes: [] };
    expect(classifyFailedRefresh(neverRotated, acme(mintToken(selector).hash), NOW, GRACE)).toEqual({ verdict: 'invalid' });
  });

  it('refuses without consequences when the family is unknown', () => {
    expect(classifyFailedRefresh(undefined, acme(mintToken().hash), NOW, GRACE)).toEqual({ verdict: 'invalid' });
  });

  it('refuses a revoked family without answering a retry or re-revoking it', () => {
    const { family, consumed, older } = refreshedFamily(NOW);
    const revoked: RefreshFamily = { ...family, revokedAt: NOW };
    expect(classifyFailedRefresh(revoked, acme(consumed.hash), NOW + 1, GRACE)).toEqual({ verdict: 'invalid' });
    expect(classifyFailedRefresh(revoked, acme(older.hash), NOW + 3600, GRACE)).toEqual({ verdict: 'invalid' });
  });

  it('refuses a token of another tenant, so tenant B can neither get the successor nor revoke tenant A’s family', () => {
    const { family, consumed, older } = refreshedFamily(NOW);
    expect(classifyFailedRefresh(family, { hash: consumed.hash, tenant: 'globex' }, NOW + 1, GRACE)).toEqual({ verdict: 'invalid' });
    expect(classifyFailedRefresh(family, { hash: older.hash, tenant: 'globex' }, NOW + 3600, GRACE)).toEqual({ verdict: 'invalid' });
  });

  it('refuses another client’s refresh token, but does not require a client on the Emporix paths', () => {
    const { family, consumed, older } = refreshedFamily(NOW);
    expect(classifyFailedRefresh(family, acme(consumed.hash, 'other-client'), NOW + 1, GRACE)).toEqual({ verdict: 'invalid' });
    expect(classifyFailedRefresh(family, acme(older.hash, 'other-client'), NOW + 3600, GRACE)).toEqual({ verdict: 'invalid' });
    expect(classifyFailedRefresh(family, acme(consumed.hash), NOW + 1, GRACE).verdict).toBe('retry');
  });

  it('refuses the current refresh token once it has expired, instead of revoking the family', () => {
    const { family, refresh } = refreshedFamily(NOW);
    expect(classifyFailedRefresh(family, acme(refresh.hash), family.refresh.expiresAt, GRACE)).toEqual({ verdict: 'invalid' });
    expect(classifyFailedRefresh(family, acme(refresh.hash), family.refresh.expiresAt + 86_400, GRACE)).toEqual({
      verdict: 'invalid',
    });
  });

  it('refuses an access token presented as a refresh token as a client error, not theft', () => {
    const { family, access, previousAccess } = refreshedFamily(NOW);
    for (const at of [NOW + 1, NOW + 3600]) {
      expect(classifyFailedRefresh(family, acme(access.hash), at, GRACE)).toEqual({ verdict: 'invalid' });
      expect(classifyFailedRefresh(family, acme(previousAccess.hash), at, GRACE)).toEqual({ verdict: 'invalid' });
    }
  });
});

describe('the absolute end of a session', () => {
  it('cuts every token of the family at the end, whatever its own expiry (a refresh writes without reading it)', () => {
    const { family, access, consumed } = refreshedFamily();
    const ended: RefreshFamily = { ...family, endsAt: NOW + 30 };
    expect(effectiveExpiry(ended, ended.access)).toBe(NOW + 30);
    expect(effectiveExpiry(family, family.access)).toBe(family.access.expiresAt);
    expect(checkAccessToken(ended, access.hash, 'acme', NOW + 29)).toBe('valid');
    expect(checkAccessToken(ended, access.hash, 'acme', NOW + 30)).toBe('expired');
    expect(sessionEnded(ended, NOW + 29)).toBe(false);
    expect(sessionEnded(ended, NOW + 30)).toBe(true);
    expect(sessionEnded(family, NOW + 10 ** 9)).toBe(false);
    // Past the end even the retry inside the grace window is refused: the session is over.
    const inGrace: RefreshFamily = { ...ended, endsAt: NOW };
    expect(classifyFailedRefresh(inGrace, { hash: consumed.hash, tenant: 'acme' }, NOW, GRACE)).toEqual({ verdict: 'invalid' });
    expect(classifyFailedRefresh(family, { hash: consumed.hash, tenant: 'acme' }, NOW, GRACE).verdict).toBe('retry');
  });
});

describe('legalEntityOf', () => {
  it('reports the selected legal entity only while the customer still holds it', () => {
    const identity = { customerNumber: 'C-1', email: 'a@example.com', legalEntities: ['LE-1', 'LE-2'], legalEntityId: 'LE-2' };
    expect(legalEntityOf(identity)).toBe('LE-2');
    expect(legalEntityOf({ ...identity, legalEntities: ['LE-1'] })).toBeUndefined();
    expect(legalEntityOf({ ...identity, legalEntityId: undefined })).toBeUndefined();
    expect(legalEntityOf(undefined)).toBeUndefined();
  });
});
