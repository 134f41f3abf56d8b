import { describe, expect, it } from 'vitest';
import {
  classifyFailedRedemption,
  isCodeVerifier,
  isS256Challenge,
  issueRefusal,
  pkceChallenge,
  redemptionRefusal,
  redirectUriMatches,
} from '../../functions/domain/authorization.js';

describe('PKCE (RFC 7636)', () => {
  it('computes S256 as the RFC’s Appendix B example does', () => {
    expect(pkceChallenge('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk')).toBe('E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
  });

  it('takes verifiers of 43 to 128 unreserved characters only (section 4.1)', () => {
    expect(isCodeVerifier('a'.repeat(43))).toBe(true);
    expect(isCodeVerifier(`${'A'.repeat(40)}-._~`)).toBe(true);
    expect(isCodeVerifier('a'.repeat(128))).toBe(true);
    expect(isCodeVerifier('a'.repeat(42))).toBe(false);
    expect(isCodeVerifier('a'.repeat(129))).toBe(false);
    expect(isCodeVerifier(`${'a'.repeat(42)}+`)).toBe(false);
    expect(isCodeVerifier(`${'a'.repeat(42)} `)).toBe(false);
  });

  it('takes S256 challenges of exactly 43 base64url characters (a plain verifier is not one)', () => {
    expect(isS256Challenge('E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM')).toBe(true);
    expect(isS256Challenge('E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM=')).toBe(false);
    expect(isS256Challenge('a'.repeat(44))).toBe(false);
    expect(isS256Challenge('E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw.cM')).toBe(false);
  });
});

describe('redirect URI matching (RFC 6749 section 3.1.2, RFC 8252 section 7.3)', () => {
  const registered = ['com.acme.shop:/callback', 'http://127.0.0.1/callback', 'http://[::1]:8080/cb', 'https://partner.example/cb'];

  it('matches registered URIs exactly', () => {
    for (const uri of registered) expect(redirectUriMatches(registered, uri)).toBe(true);
    expect(redirectUriMatches(registered, 'https://partner.example/cb/')).toBe(false);
    expect(redirectUriMatches(registered, 'https://partner.example/cb?x=1')).toBe(false);
    expect(redirectUriMatches(registered, 'https://PARTNER.example/cb')).toBe(false);
    expect(redirectUriMatches(registered, 'https://partner.example:443/cb')).toBe(false);
    expect(redirectUriMatches(registered, 'com.acme.shop:/callback/../evil')).toBe(false);
  });

  it('lets a loopback redirect take any port, and nothing else vary', () => {
    expect(redirectUriMatches(registered, 'http://127.0.0.1:51234/callback')).toBe(true);
    expect(redirectUriMatches(registered, 'http://[::1]:9/cb')).toBe(true);
    expect(redirectUriMatches(registered, 'http://[::1]/cb')).toBe(true);
    expect(redirectUriMatches(registered, 'http://127.0.0.1:51234/callback2')).toBe(false);
    expect(redirectUriMatches(registered, 'http://127.0.0.1:51234/callback?next=evil')).toBe(false);
    expect(redirectUriMatches(registered, 'http://127.0.0.1:51234/x/../callback')).toBe(false);
    expect(redirectUriMatches(registered, 'http://user@127.0.0.1:51234/callback')).toBe(false);
    expect(redirectUriMatches(registered, 'https://127.0.0.1:51234/callback')).toBe(false);
    // `localhost` is not a loopback IP literal (RFC 8252 section 8.3): it may resolve elsewhere.
    expect(redirectUriMatches(registered, 'http://localhost:51234/callback')).toBe(false);
    expect(redirectUriMatches(['http://localhost/callback'], 'http://localhost:51234/callback')).toBe(false);
    // Only loopback: another host never matches on another port.
    expect(redirectUriMatches(['http://10.0.0.1/callback'], 'http://10.0.0.1:80/callback')).toBe(false);
    expect(redirectUriMatches(registered, 'not a uri')).toBe(false);
  });
});

describe('the rules when nothing is stored under the selector', () => {
  it('refuse by the exists clause, and a failed redemption is merely invalid (nothing to revoke)', () => {
    const hash = 'h'.repeat(43);
    expect(issueRefusal(undefined, { requestHash: hash, csrfHash: hash }, 0)).toBe('exists');
    expect(
      redemptionRefusal(undefined, { codeHash: hash, clientId: 'c', redirectUri: 'https://a.example/cb', codeChallenge: hash }, 0),
    ).toBe('exists');
    expect(classifyFailedRedemption(undefined, { codeHash: hash })).toEqual({ verdict: 'invalid' });
  });
});
