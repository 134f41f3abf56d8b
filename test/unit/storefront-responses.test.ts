import { describe, expect, it } from 'vitest';
import { anonymousBody, customerLoginBody, customerRefreshBody, withLegacyFields } from '../../functions/domain/storefront-responses.js';

const pair = { accessToken: 'access-1', accessExpiresIn: 3599, refreshToken: 'refresh-1', refreshExpiresIn: 86399 };
const customerPair = { ...pair, accessExpiresIn: 14399 };
const SESSION = '3f0c8a52-7f7e-4b0e-9a53-1c1d0f6b2e44';

describe('storefront bodies', () => {
  it('anonymous: Emporix’s camelCase sessionId and scope "tenant=T"', () => {
    expect(anonymousBody(pair, SESSION, 'acme')).toEqual({
      access_token: 'access-1',
      token_type: 'Bearer',
      expires_in: 3599,
      refresh_token: 'refresh-1',
      refresh_token_expires_in: 86399,
      sessionId: SESSION,
      scope: 'tenant=acme',
    });
  });

  it('customer refresh: snake_case session_id and no saas_token', () => {
    expect(customerRefreshBody(customerPair, SESSION)).toEqual({
      access_token: 'access-1',
      token_type: 'Bearer',
      expires_in: 14399,
      refresh_token: 'refresh-1',
      refresh_token_expires_in: 86399,
      session_id: SESSION,
    });
  });

  it('customer login: saas_token, session_id and the initialPassword flag as given', () => {
    const expected = {
      access_token: 'access-1',
      saas_token: 'header.payload.signature',
      token_type: 'Bearer',
      expires_in: 14399,
      refresh_token: 'refresh-1',
      refresh_token_expires_in: 86399,
      session_id: SESSION,
      initialPassword: false,
    };
    expect(customerLoginBody(customerPair, 'header.payload.signature', SESSION, false)).toEqual(expected);
    expect(customerLoginBody(customerPair, 'header.payload.signature', SESSION, true)).toEqual({ ...expected, initialPassword: true });
  });
});

describe('withLegacyFields', () => {
  const login = customerLoginBody(customerPair, 'header.payload.signature', SESSION, false);
  const refresh = customerRefreshBody(customerPair, SESSION);
  /** 2026-03-01T00:00:00Z, the first second without the copies for legacyTokenFieldsUntil 2026-03-01. */
  const UNTIL = '2026-03-01';
  const SUNSET = Date.UTC(2026, 2, 1) / 1000;

  it('emits only snake_case and no headers when the tenant has no legacy window', () => {
    expect(withLegacyFields(login, undefined, SUNSET - 86_400)).toEqual({ body: login, headers: {} });
    expect(withLegacyFields(login, '', SUNSET - 86_400)).toEqual({ body: login, headers: {} });
  });

  it('adds the camelCase copies of a login with the same values, announced by Deprecation and Sunset', () => {
    const { body, headers } = withLegacyFields(login, UNTIL, SUNSET - 86_400);
    expect(body).toEqual({
      ...login,
      accessToken: 'access-1',
      saasToken: 'header.payload.signature',
      expiresIn: 14399,
      refreshToken: 'refresh-1',
      refreshTokenExpiresIn: 86399,
    });
    expect(headers).toEqual({
      // RFC 9745: deprecated since Emporix's announced removal, 2025-11-13T00:00:00Z.
      Deprecation: '@1762992000',
      // RFC 8594 / RFC 9110 IMF-fixdate of the window's end.
      Sunset: 'Sun, 01 Mar 2026 00:00:00 GMT',
    });
  });

  it('adds no saasToken to a refresh body, which has no saas_token', () => {
    const { body } = withLegacyFields(refresh, UNTIL, SUNSET - 86_400);
    expect(body).toEqual({
      ...refresh,
      accessToken: 'access-1',
      expiresIn: 14399,
      refreshToken: 'refresh-1',
      refreshTokenExpiresIn: 86399,
    });
    expect(body).not.toHaveProperty('saasToken');
  });

  it('closes the window at midnight UTC of the configured date, to the second', () => {
    const lastSecond = withLegacyFields(login, UNTIL, SUNSET - 1);
    expect(lastSecond.body).toHaveProperty('accessToken', 'access-1');
    expect(lastSecond.headers).toHaveProperty('Sunset', 'Sun, 01 Mar 2026 00:00:00 GMT');

    expect(withLegacyFields(login, UNTIL, SUNSET)).toEqual({ body: login, headers: {} });
    expect(withLegacyFields(login, UNTIL, SUNSET + 1)).toEqual({ body: login, headers: {} });
  });

  it('does not revive the copies for a date already past, nor for a date it cannot read', () => {
    expect(withLegacyFields(login, '2025-11-13', Date.UTC(2026, 0, 1) / 1000)).toEqual({ body: login, headers: {} });
    expect(withLegacyFields(login, 'soon', SUNSET - 86_400)).toEqual({ body: login, headers: {} });
  });

  it('leaves the body it was given untouched', () => {
    const original = customerRefreshBody(customerPair, SESSION);
    withLegacyFields(original, UNTIL, SUNSET - 1);
    expect(original).toEqual(refresh);
    expect(original).not.toHaveProperty('accessToken');
  });
});
