import { describe, expect, it } from 'vitest';
import { isReusable, serviceTokenBody } from '../../functions/domain/service-token.js';

describe('isReusable', () => {
  const token = { issuedAt: 1000, expiresAt: 2000 };

  it('reuses a token until it has used the configured share of its life', () => {
    expect(isReusable(token, 1000, 0.5)).toBe(true);
    expect(isReusable(token, 1499, 0.5)).toBe(true);
    expect(isReusable(token, 1500, 0.5)).toBe(false);
    expect(isReusable(token, 1899, 0.9)).toBe(true);
    expect(isReusable(token, 1900, 0.9)).toBe(false);
  });

  it('never reuses an expired token, whatever the share', () => {
    expect(isReusable(token, 2000, 1)).toBe(false);
    expect(isReusable(token, 1999, 1)).toBe(true);
  });
});

describe('serviceTokenBody', () => {
  const grant = { accessToken: 'tok', expiresIn: 42, scope: 'a tenant=acme' };

  it('carries Emporix’s empty refresh fields in the emporix profile', () => {
    expect(serviceTokenBody(grant, 'emporix')).toEqual({
      access_token: 'tok',
      token_type: 'Bearer',
      expires_in: 42,
      refresh_token: '',
      refresh_token_expires_in: 0,
      session_idle_time: 120,
      scope: 'a tenant=acme',
    });
  });

  it('leaves them out in the oauth2 profile and keeps everything else', () => {
    const body = serviceTokenBody(grant, 'oauth2');
    expect(body).not.toHaveProperty('refresh_token');
    expect(body).not.toHaveProperty('refresh_token_expires_in');
    expect(body).toMatchObject({ access_token: 'tok', expires_in: 42, session_idle_time: 120, scope: 'a tenant=acme' });
  });
});
