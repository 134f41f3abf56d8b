import { describe, expect, it } from 'vitest';
import { unseal } from '../../functions/domain/seal.js';
import {
  applyRotation,
  checkAccessToken,
  classifyFailedRefresh,
  classifyFailedRotation,
  consumedSlot,
  mayRotate,
  planRotation,
  rotationRefusal,
  startFamily,
  subjectOf,
  successorContext,
  effectiveExpiry,
  legalEntityOf,
  sessionEnded,
  withFirstAccess,
  type RefreshFamily,
} from '../../functions/domain/refresh-family.js';
import { mintToken, newSelector, parseToken } from '../../functions/domain/tokens.js';

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

describe('one family for every kind: start, rotate, classify', () => {
  const lifetimes = { access: 100, refresh: 1000, sessionMax: 500 };

  it('starts a family of any kind with its end counted from now, no first token beyond it', () => {
    const started = startFamily(
      { kind: 'anonymous', tenant: 'acme', clientId: 'web', sessionId: 's-1', context: { currency: 'EUR' } },
      lifetimes,
      NOW,
    );
    const { family } = started;
    expect(family).toMatchObject({
      kind: 'anonymous',
      tenant: 'acme',
      clientId: 'web',
      sessionId: 's-1',
      issuedAt: NOW,
      endsAt: NOW + 500,
    });
    expect(family.access.expiresAt).toBe(NOW + 100);
    expect(family.refresh.expiresAt).toBe(NOW + 500);
    expect(family.customer).toBeUndefined();
    expect(parseToken(started.refreshToken)).toMatchObject({ selector: family.selector, generation: 0, hash: family.refresh.hash });
    expect(parseToken(started.accessToken)?.hash).toBe(family.access.hash);
    expect(mayRotate(family, { hash: family.refresh.hash, tenant: 'acme', kind: 'anonymous' }, NOW)).toBe(true);
  });

  it('names the subject: the customer, or the session for an anonymous family', () => {
    const { family } = refreshedFamily();
    expect(subjectOf(family)).toBe('C-1001');
    expect(subjectOf({ ...family, customer: undefined })).toBe(family.sessionId);
  });

  it('plans a rotation: the next generation, the consumed slot, and a successor only the consumed token opens', () => {
    const started = startFamily(
      {
        kind: 'customer',
        tenant: 'acme',
        clientId: 'web',
        sessionId: 's',
        context: {},
        customer: { customerNumber: 'C', email: 'c@x', legalEntities: ['LE-1'] },
      },
      lifetimes,
      NOW,
    );
    const presented = parseToken(started.refreshToken)!;
    const { successor, write } = planRotation(presented, lifetimes, NOW + 1, 'LE-1');
    expect(parseToken(successor.refreshToken)?.generation).toBe(1);
    expect(write).toMatchObject({ consumedSlot: consumedSlot(0), legalEntityId: 'LE-1', legacyEndsAt: NOW + 501 });
    expect(write.rotation).toMatchObject({ consumedHash: presented.hash, rotatedAt: NOW + 1 });
    expect(JSON.parse(unseal(write.rotation.sealedSuccessor, presented.token, successorContext(presented.selector))!)).toEqual(successor);
    expect(unseal(write.rotation.sealedSuccessor, started.accessToken, successorContext(presented.selector))).toBeUndefined();
    const rotated = applyRotation(started.family, write, [presented.hash]);
    expect(rotated.previousAccess).toEqual(started.family.access);
    expect(rotated.customer?.legalEntityId).toBe('LE-1');
    expect(rotated.endsAt).toBe(NOW + 500); // an end is never moved
  });

  it('plans a grant’s rotation with a narrower scope and a pre-minted access token (a JWT): both land in the write and the sealed successor', () => {
    const started = startFamily(
      { kind: 'grant', tenant: 'acme', clientId: 'app', sessionId: 's', context: {}, scopes: ['a', 'b'] },
      lifetimes,
      NOW,
    );
    expect(started.family.scopes).toEqual(['a', 'b']);
    expect(started.family.access.scopes).toBeUndefined(); // the first token has the grant's whole scope
    const jwt = { token: 'header.payload.signature', hash: mintToken().hash };
    expect(withFirstAccess(started, jwt)).toMatchObject({ accessToken: jwt.token, family: { access: { hash: jwt.hash } } });
    const presented = parseToken(started.refreshToken)!;
    const { successor, write } = planRotation(presented, lifetimes, NOW + 1, undefined, { scopes: ['a'], access: jwt });
    expect(write.access).toEqual({ hash: jwt.hash, expiresAt: NOW + 1 + lifetimes.access, scopes: ['a'] });
    expect(successor).toMatchObject({ accessToken: jwt.token, scopes: ['a'] });
    expect(JSON.parse(unseal(write.rotation.sealedSuccessor, presented.token, successorContext(presented.selector))!)).toEqual(successor);
    const grant = { hash: presented.hash, tenant: 'acme', kind: 'grant' as const, clientId: 'app' };
    expect(rotationRefusal(started.family, { ...grant, scopes: ['a'] }, NOW)).toBeUndefined();
    expect(rotationRefusal(started.family, { ...grant, scopes: ['a', 'c'] }, NOW)).toBe('scope');
    expect(classifyFailedRotation(started.family, { ...grant, scopes: ['c'] }, NOW, GRACE)).toEqual({ verdict: 'scope-not-granted' });
    // An empty request is no narrowing (RFC 6749 section 6: omitted means the original scope).
    expect(rotationRefusal(started.family, { ...grant, scopes: [] }, NOW)).toBeUndefined();
  });

  it('reports the first clause a refresh fails', () => {
    const { family, refresh, consumed } = refreshedFamily();
    const presented = { hash: refresh.hash, tenant: 'acme', kind: 'customer' as const };
    expect(rotationRefusal(family, presented, NOW)).toBeUndefined();
    expect(rotationRefusal(undefined, presented, NOW)).toBe('exists');
    expect(rotationRefusal(family, { ...presented, hash: consumed.hash }, NOW)).toBe('current');
    expect(rotationRefusal(family, { ...presented, kind: 'anonymous', tenant: 'globex' }, NOW)).toBe('kind');
    expect(rotationRefusal({ ...family, revokedAt: NOW }, presented, NOW)).toBe('live');
    expect(rotationRefusal(family, { ...presented, legalEntityId: 'LE-1' }, NOW)).toBe('legalEntity');
  });

  it('classifies expired and revoked apart, and answers both as invalid', () => {
    const { family, refresh, consumed } = refreshedFamily();
    const expiredAt = family.refresh.expiresAt;
    const acme = (hash: string) => ({ hash, tenant: 'acme' });
    expect(classifyFailedRotation(family, acme(refresh.hash), expiredAt, GRACE)).toEqual({ verdict: 'expired' });
    expect(classifyFailedRotation({ ...family, revokedAt: NOW }, acme(consumed.hash), NOW, GRACE)).toEqual({ verdict: 'revoked' });
    expect(classifyFailedRotation({ ...family, endsAt: NOW }, acme(consumed.hash), NOW, GRACE)).toEqual({ verdict: 'expired' });
    expect(classifyFailedRefresh({ ...family, revokedAt: NOW }, acme(consumed.hash), NOW, GRACE)).toEqual({ verdict: 'invalid' });
  });

  it('calls the current token refused on its legal entity a 403 only for its own tenant, client and kind', () => {
    const { family, refresh } = refreshedFamily();
    const asked = { hash: refresh.hash, tenant: 'acme', kind: 'customer' as const, legalEntityId: 'LE-9' };
    expect(classifyFailedRefresh(family, asked, NOW, GRACE)).toEqual({ verdict: 'legal-entity-not-assigned' });
    expect(classifyFailedRefresh(family, { ...asked, tenant: 'globex' }, NOW, GRACE)).toEqual({ verdict: 'invalid' });
    expect(classifyFailedRefresh(family, { ...asked, clientId: 'other' }, NOW, GRACE)).toEqual({ verdict: 'invalid' });
    expect(classifyFailedRefresh(family, { ...asked, kind: 'anonymous' }, NOW, GRACE)).toEqual({ verdict: 'invalid' });
    // A legal entity the customer holds: the write cannot have failed on it.
    expect(classifyFailedRefresh({ ...family, customer: { ...family.customer!, legalEntities: ['LE-9'] } }, asked, NOW, GRACE)).toEqual({
      verdict: 'invalid',
    });
  });
});
