import { describe, expect, it, vi } from 'vitest';
import {
  InvalidClient,
  InvalidCredentials,
  InvalidGrant,
  InvalidRequest,
  InvalidScope,
  InvalidToken,
  LegalEntityNotAssigned,
  LoginThrottled,
  MethodNotAllowed,
  NotFound,
  RequestTooLarge,
  ServiceUnavailable,
  UnknownStorefrontClient,
  UnauthorizedClient,
  UnsupportedGrantType,
  ExternalTokenRejected,
  UnknownCustomer,
  Conflict,
  Throttled,
  BrokerError,
  type KnownError,
} from '../../functions/domain/errors.js';
import { EMPORIX_ERRORS, errorResponse, OAUTH_ERRORS, type WireShape } from '../../functions/http/errors.js';
import { lambdaHttpHandler } from '../../functions/http/lambda-adapter.js';
import type { Logger } from '../../functions/log.js';
import { tokenRequestEvent } from '../support/lambda-event.js';

const never = () => {
  throw new Error('a known error was treated as unexpected');
};
const render = (error: unknown, shape: WireShape) => errorResponse(error, shape, never);

const problem = { field: 'email', type: 'invalid', message: 'not an email address' };
const BASIC = { 'WWW-Authenticate': 'Basic realm="token-broker", charset="UTF-8"' };
const UNAVAILABLE = 'The service is temporarily unavailable; retry shortly.';

/** Every domain error, with its RFC 6749 (`/oauth/*`) and its Emporix (storefront) response. */
const CASES: Array<{ error: KnownError; oauth: unknown; emporix: unknown }> = [
  {
    error: new InvalidRequest('bad email', [problem]),
    oauth: { status: 400, headers: {}, body: { error: 'invalid_request', error_description: 'bad email' } },
    emporix: { status: 400, headers: {}, body: { status: 400, type: 'bad_request', message: 'bad email', details: [problem] } },
  },
  {
    error: new RequestTooLarge(16384),
    oauth: { status: 413, headers: {}, body: { error: 'invalid_request', error_description: 'request body exceeds 16384 bytes' } },
    emporix: {
      status: 413,
      headers: {},
      body: { status: 413, type: 'payload_too_large', message: 'request body exceeds 16384 bytes', details: [] },
    },
  },
  {
    error: new InvalidClient('client authentication failed', true),
    oauth: { status: 401, headers: BASIC, body: { error: 'invalid_client', error_description: 'client authentication failed' } },
    emporix: {
      status: 401,
      headers: BASIC,
      body: { status: 401, type: 'bad_request', message: 'client authentication failed', details: [] },
    },
  },
  {
    error: new InvalidClient('client authentication required', false),
    oauth: { status: 401, headers: {}, body: { error: 'invalid_client', error_description: 'client authentication required' } },
    emporix: {
      status: 401,
      headers: {},
      body: { status: 401, type: 'bad_request', message: 'client authentication required', details: [] },
    },
  },
  {
    error: new InvalidGrant('refresh token reused'),
    oauth: { status: 400, headers: {}, body: { error: 'invalid_grant', error_description: 'refresh token reused' } },
    emporix: {
      status: 401,
      headers: {},
      body: { fault: { faultstring: 'Invalid refresh token', detail: { errorcode: 'oauth.v2.InvalidRefreshToken' } } },
    },
  },
  {
    error: new InvalidScope('scope admin is not granted to this client'),
    oauth: { status: 400, headers: {}, body: { error: 'invalid_scope', error_description: 'scope admin is not granted to this client' } },
    emporix: {
      status: 400,
      headers: {},
      body: { status: 400, type: 'bad_request', message: 'scope admin is not granted to this client', details: [] },
    },
  },
  {
    error: new UnauthorizedClient('client_credentials'),
    oauth: {
      status: 400,
      headers: {},
      body: { error: 'unauthorized_client', error_description: 'the client is not registered for grant_type client_credentials' },
    },
    emporix: {
      status: 400,
      headers: {},
      body: { status: 400, type: 'bad_request', message: 'the client is not registered for grant_type client_credentials', details: [] },
    },
  },
  {
    error: new ExternalTokenRejected('the identity provider refused the code'),
    oauth: { status: 400, headers: {}, body: { error: 'invalid_grant', error_description: 'the identity provider refused the code' } },
    emporix: {
      status: 401,
      headers: {},
      body: { fault: { faultstring: 'Invalid access token', detail: { errorcode: 'oauth.v2.InvalidAccessToken' } } },
    },
  },
  {
    error: new UnknownCustomer(),
    oauth: { status: 404, headers: {}, body: { error: 'invalid_request', error_description: 'no customer for this identity' } },
    emporix: {
      status: 404,
      headers: {},
      body: { status: 404, type: 'not_found', message: 'no customer for this identity', details: [] },
    },
  },
  {
    error: new Conflict('a customer with this email already exists'),
    oauth: { status: 409, headers: {}, body: { error: 'invalid_request', error_description: 'a customer with this email already exists' } },
    emporix: {
      status: 409,
      headers: {},
      body: { status: 409, type: 'conflict_resource', message: 'a customer with this email already exists', details: [] },
    },
  },
  {
    error: new Throttled(30),
    oauth: { status: 429, headers: { 'Retry-After': '30' }, body: { error: 'too_many_requests', error_description: 'too many requests' } },
    emporix: {
      status: 429,
      headers: { 'Retry-After': '30' },
      body: { status: 429, type: 'too_many_requests', message: 'too many requests', details: [] },
    },
  },
  {
    error: new UnsupportedGrantType('password'),
    oauth: {
      status: 400,
      headers: {},
      body: { error: 'unsupported_grant_type', error_description: 'grant_type password is not supported' },
    },
    emporix: {
      status: 400,
      headers: {},
      body: { status: 400, type: 'bad_request', message: 'grant_type password is not supported', details: [] },
    },
  },
  {
    error: new InvalidToken(),
    oauth: { status: 401, headers: {}, body: { error: 'invalid_token', error_description: 'Invalid access token' } },
    emporix: {
      status: 401,
      headers: {},
      body: { fault: { faultstring: 'Invalid access token', detail: { errorcode: 'oauth.v2.InvalidAccessToken' } } },
    },
  },
  {
    error: new InvalidToken({ expired: true }),
    oauth: { status: 401, headers: {}, body: { error: 'invalid_token', error_description: 'Access Token expired' } },
    emporix: {
      status: 401,
      headers: {},
      body: { fault: { faultstring: 'Access Token expired', detail: { errorcode: 'keymanagement.service.access_token_expired' } } },
    },
  },
  {
    error: new UnknownStorefrontClient(),
    oauth: { status: 401, headers: {}, body: { error: 'invalid_token', error_description: 'Invalid ApiKey' } },
    emporix: {
      status: 401,
      headers: {},
      body: { fault: { faultstring: 'Invalid ApiKey', detail: { errorcode: 'oauth.v2.InvalidApiKey' } } },
    },
  },
  {
    error: new LegalEntityNotAssigned(),
    oauth: {
      status: 403,
      headers: {},
      body: { error: 'forbidden', error_description: 'The customer is not assigned to this legal entity.' },
    },
    emporix: {
      status: 403,
      headers: {},
      body: { status: 403, type: 'forbidden', message: 'The customer is not assigned to this legal entity.', details: [] },
    },
  },
  {
    error: new InvalidCredentials(),
    oauth: { status: 401, headers: {}, body: { error: 'unauthorized', error_description: 'Invalid email or password.' } },
    emporix: { status: 401, headers: {}, body: { status: 401, type: 'unauthorized', message: 'Invalid email or password.', details: [] } },
  },
  {
    error: new LoginThrottled(600),
    oauth: {
      status: 429,
      headers: { 'Retry-After': '600' },
      body: { error: 'too_many_requests', error_description: 'Too many failed logins; try again later.' },
    },
    emporix: {
      status: 429,
      headers: { 'Retry-After': '600' },
      body: { status: 429, type: 'too_many_requests', message: 'Too many failed logins; try again later.', details: [] },
    },
  },
  {
    error: new NotFound('GET', '/nowhere'),
    oauth: { status: 404, headers: {}, body: { error: 'invalid_request', error_description: 'No route for GET /nowhere' } },
    emporix: { status: 404, headers: {}, body: { status: 404, type: 'not_found', message: 'No route for GET /nowhere', details: [] } },
  },
  {
    error: new MethodNotAllowed('PUT', '/oauth/token', ['POST']),
    oauth: {
      status: 405,
      headers: { Allow: 'POST' },
      body: { error: 'invalid_request', error_description: 'PUT is not allowed on /oauth/token' },
    },
    emporix: {
      status: 405,
      headers: { Allow: 'POST' },
      body: { status: 405, type: 'method_not_allowed', message: 'PUT is not allowed on /oauth/token', details: [] },
    },
  },
  {
    error: new ServiceUnavailable('DynamoDB', new Error('throttled'), 2),
    oauth: { status: 503, headers: { 'Retry-After': '2' }, body: { error: 'temporarily_unavailable', error_description: UNAVAILABLE } },
    emporix: {
      status: 503,
      headers: { 'Retry-After': '2' },
      body: { status: 503, type: 'service_unavailable', message: UNAVAILABLE, details: [] },
    },
  },
];

describe('the error tables (functions/http/errors.ts)', () => {
  for (const { error, oauth, emporix } of CASES) {
    const label = `${error.constructor.name}: ${error.message}`;
    it(`renders ${label} in RFC 6749 shape`, () => {
      expect(render(error, 'oauth')).toEqual(oauth);
    });
    it(`renders ${label} in Emporix shape`, () => {
      expect(render(error, 'emporix')).toEqual(emporix);
    });
  }

  it('has one entry per error kind in each table, and a case above for each domain kind', () => {
    const kinds = [...new Set(CASES.map((c) => c.error.kind))].sort();
    expect(Object.keys(OAUTH_ERRORS).sort()).toEqual(kinds);
    expect(Object.keys(EMPORIX_ERRORS).sort()).toEqual(kinds);
  });

  it('carries no HTTP status, header or body on a domain error', () => {
    for (const { error } of CASES) {
      expect(error).not.toHaveProperty('status');
      expect(error).not.toHaveProperty('headers');
      expect(error).not.toHaveProperty('body');
    }
  });

  it('gives each response its own headers object', () => {
    const error = new InvalidClient('x', true);
    render(error, 'oauth').headers['X-Test'] = 'changed';
    expect(render(error, 'oauth').headers).toEqual(BASIC);
  });

  it('treats a BrokerError of no known kind as unexpected', () => {
    class Stray extends BrokerError {
      readonly kind = 'Stray';
    }
    const onUnexpected = vi.fn();
    expect(errorResponse(new Stray('x'), 'emporix', onUnexpected)).toEqual({
      status: 500,
      headers: {},
      body: { status: 500, type: 'internal_error', message: 'An unexpected error occurred.', details: [] },
    });
    expect(onUnexpected).toHaveBeenCalledOnce();
  });
});

describe('the Lambda adapter applies the tables', () => {
  function logger() {
    return { level: 'info', debug: vi.fn(), info: vi.fn(), warn: vi.fn(), error: vi.fn(), line: vi.fn() } satisfies Logger;
  }

  it('answers a thrown domain error by the table of the route, with no-store', async () => {
    const log = logger();
    const handler = lambdaHttpHandler(
      {
        'POST /oauth/token': async () => {
          throw new InvalidClient('client authentication failed', true);
        },
      },
      log,
    );
    const result = await handler(tokenRequestEvent('grant_type=client_credentials'));
    expect(result).toEqual({
      statusCode: 401,
      headers: { 'Cache-Control': 'no-store', Pragma: 'no-cache', 'Content-Type': 'application/json', ...BASIC },
      body: '{"error":"invalid_client","error_description":"client authentication failed"}',
    });
    expect(log.error).not.toHaveBeenCalled();
  });

  it('logs an unexpected error with its stack and returns a generic 500 that reveals nothing', async () => {
    const log = logger();
    const handler = lambdaHttpHandler(
      {
        'POST /oauth/token': async () => {
          throw new TypeError('cannot read secret-place of undefined');
        },
      },
      log,
    );
    const result = await handler(tokenRequestEvent(''));
    expect(result.statusCode).toBe(500);
    expect(result.body).toBe('{"error":"server_error","error_description":"An unexpected error occurred."}');
    expect(log.error).toHaveBeenCalledOnce();
    expect(JSON.stringify(log.error.mock.calls[0])).toContain('secret-place');
  });

  it('logs a dependency outage as a warning and answers 503 with Retry-After', async () => {
    const log = logger();
    const handler = lambdaHttpHandler(
      {
        'POST /oauth/token': async () => {
          throw new ServiceUnavailable('DynamoDB', new Error('throttled'));
        },
      },
      log,
    );
    const result = await handler(tokenRequestEvent(''));
    expect(result.statusCode).toBe(503);
    expect(result.headers).toMatchObject({ 'Retry-After': '1' });
    expect(log.warn).toHaveBeenCalledWith('dependency unavailable', expect.anything());
    expect(log.error).not.toHaveBeenCalled();
  });
});
