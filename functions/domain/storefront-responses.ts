/**
 * Wire bodies of the storefront (Emporix) token responses, contract sections 1 and 2.
 */

export interface IssuedPair {
  accessToken: string;
  accessExpiresIn: number;
  refreshToken: string;
  refreshExpiresIn: number;
}

function tokenFields(pair: IssuedPair) {
  return {
    access_token: pair.accessToken,
    token_type: 'Bearer',
    expires_in: pair.accessExpiresIn,
    refresh_token: pair.refreshToken,
    refresh_token_expires_in: pair.refreshExpiresIn,
  };
}

export function anonymousBody(pair: IssuedPair, sessionId: string, tenant: string): Record<string, unknown> {
  // Emporix's camelCase sessionId here, unlike the customer responses' session_id.
  return { ...tokenFields(pair), sessionId, scope: `tenant=${tenant}` };
}

export function customerRefreshBody(pair: IssuedPair, sessionId: string): Record<string, unknown> {
  return { ...tokenFields(pair), session_id: sessionId };
}

export function customerLoginBody(pair: IssuedPair, saasToken: string, sessionId: string, initialPassword: boolean) {
  // Emporix's field order: saas_token follows access_token.
  const { access_token, ...rest } = tokenFields(pair);
  return { access_token, saas_token: saasToken, ...rest, session_id: sessionId, initialPassword };
}

/** Emporix's fixed idle time, reported as is (as for service tokens, domain/service-token.ts). */
const FEDERATED_SESSION_IDLE_TIME = 120;

/** Contract section 10, socialLogin: the login's fields and the provider's own tokens echoed back. */
export function socialLoginBody(
  pair: IssuedPair,
  saasToken: string,
  sessionId: string,
  tenant: string,
  provider: { accessToken: string; idToken: string },
): Record<string, unknown> {
  const { access_token, ...rest } = tokenFields(pair);
  return {
    access_token,
    saas_token: saasToken,
    ...rest,
    session_idle_time: FEDERATED_SESSION_IDLE_TIME,
    scope: `tenant=${tenant}`,
    session_id: sessionId,
    social_access_token: provider.accessToken,
    social_id_token: provider.idToken,
  };
}

/** Contract section 10, exchangeauthtoken: the presented token echoed first, then the session's. */
export function exchangeAuthTokenBody(
  pair: IssuedPair,
  saasToken: string,
  sessionId: string,
  tenant: string,
  subjectAccessToken: string,
): Record<string, unknown> {
  return {
    subject_access_token: subjectAccessToken,
    access_token: pair.accessToken,
    saas_token: saasToken,
    refresh_token: pair.refreshToken,
    refresh_token_expires_in: pair.refreshExpiresIn,
    session_idle_time: FEDERATED_SESSION_IDLE_TIME,
    token_type: 'Bearer',
    expires_in: pair.accessExpiresIn,
    scope: `tenant=${tenant}`,
    session_id: sessionId,
  };
}

/** Emporix removed the camelCase copies on this date (contract section 2, "Legacy field window"). */
export const CAMEL_CASE_REMOVED_AT = Date.UTC(2025, 10, 13) / 1000;

export const CAMEL_COPIES: Record<string, string> = {
  access_token: 'accessToken',
  saas_token: 'saasToken',
  expires_in: 'expiresIn',
  refresh_token: 'refreshToken',
  refresh_token_expires_in: 'refreshTokenExpiresIn',
};

/**
 * Inside a tenant's `legacyTokenFieldsUntil` window, login and refresh also carry the camelCase
 * copies, announced as deprecated (RFC 9745, since Emporix's removal date) and ending at the
 * window's end (RFC 8594 Sunset).
 */
export function withLegacyFields(
  body: Record<string, unknown>,
  legacyUntil: string | undefined,
  now: number,
): { body: Record<string, unknown>; headers: Record<string, string> } {
  if (!legacyUntil) return { body, headers: {} };
  const sunset = Date.parse(`${legacyUntil}T00:00:00Z`) / 1000;
  if (!(now < sunset)) return { body, headers: {} };
  const copies: Record<string, unknown> = {};
  for (const [snake, camel] of Object.entries(CAMEL_COPIES)) if (snake in body) copies[camel] = body[snake];
  return {
    body: { ...body, ...copies },
    headers: { Deprecation: `@${CAMEL_CASE_REMOVED_AT}`, Sunset: new Date(sunset * 1000).toUTCString() },
  };
}
