import { describe, expect, it, vi } from 'vitest';
import { InvalidClient, InvalidRequest, InvalidScope, InvalidToken, ServiceUnavailable } from '../../functions/domain/errors.js';
import { errorResponse } from '../../functions/http/errors.js';
import { jsonLogger, scrub } from '../../functions/log.js';
import { mintToken } from '../../functions/domain/tokens.js';

describe('errorResponse', () => {
  const never = () => {
    throw new Error('not unexpected');
  };

  it('renders OAuth errors in RFC 6749 section 5.2 shape', () => {
    expect(errorResponse(new InvalidScope('nope'), 'oauth', never)).toEqual({
      status: 400,
      headers: {},
      body: { error: 'invalid_scope', error_description: 'nope' },
    });
    expect(errorResponse(new InvalidClient('bad', true), 'oauth', never)).toMatchObject({
      status: 401,
      headers: { 'WWW-Authenticate': expect.stringMatching(/^Basic/) },
    });
  });

  it('renders the Emporix 401 shapes, with the errorcode storefronts refresh on', () => {
    expect(errorResponse(new InvalidToken({ expired: true }), 'emporix', never).body).toEqual({
      fault: { faultstring: 'Access Token expired', detail: { errorcode: 'keymanagement.service.access_token_expired' } },
    });
    expect(errorResponse(new InvalidToken(), 'emporix', never).body).toEqual({
      fault: { faultstring: 'Invalid access token', detail: { errorcode: 'oauth.v2.InvalidAccessToken' } },
    });
  });

  it('renders other Emporix 4xx with status, type, message and details', () => {
    const problem = { field: 'email', type: 'invalid', message: 'required' };
    expect(errorResponse(new InvalidRequest('bad email', [problem]), 'emporix', never).body).toEqual({
      status: 400,
      type: 'bad_request',
      message: 'bad email',
      details: [problem],
    });
  });

  it('answers 503 with Retry-After in both shapes', () => {
    const oauth = errorResponse(new ServiceUnavailable('DynamoDB'), 'oauth', never);
    expect(oauth).toMatchObject({ status: 503, headers: { 'Retry-After': '1' }, body: { error: 'temporarily_unavailable' } });
    expect(errorResponse(new ServiceUnavailable('DynamoDB'), 'emporix', never).body).toMatchObject({
      status: 503,
      type: 'service_unavailable',
    });
  });

  it('turns anything unexpected into a generic 500 that reveals nothing, and reports it', () => {
    const onUnexpected = vi.fn();
    const response = errorResponse(new TypeError('x is undefined at secret place'), 'oauth', onUnexpected);
    expect(response.status).toBe(500);
    expect(JSON.stringify(response.body)).not.toContain('secret place');
    expect(onUnexpected).toHaveBeenCalledOnce();
  });
});

describe('logging', () => {
  it('scrubs tokens, JWTs and credentials but keeps request ids readable', () => {
    const token = mintToken().token;
    const jwt = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJDLTEwMDEifQ.c2lnbmF0dXJl';
    const line = scrub(`t=${token} j=${jwt} Basic b3JkZXJzOnNlY3JldA== Bearer abc id=0b7a5f9e-3c1d-4c1e-9f7a-2b3c4d5e6f70`);
    expect(line).not.toContain(token);
    expect(line).not.toContain(jwt);
    expect(line).not.toContain('b3JkZXJzOnNlY3JldA==');
    expect(line).not.toContain('Bearer abc');
    expect(line).toContain('0b7a5f9e-3c1d-4c1e-9f7a-2b3c4d5e6f70');
  });

  it('writes one JSON object per line, scrubbing nested fields and errors', () => {
    const lines: string[] = [];
    const token = mintToken().token;
    jsonLogger((line) => lines.push(line)).warn('oops', { nested: { token }, error: new Error(`bad ${token}`) });
    expect(lines).toHaveLength(1);
    const parsed = JSON.parse(lines[0]!);
    expect(parsed).toMatchObject({ level: 'warn', message: 'oops', error: { name: 'Error' } });
    expect(lines[0]).not.toContain(token);
  });
});
