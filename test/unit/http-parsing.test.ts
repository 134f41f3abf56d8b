import { describe, expect, it } from 'vitest';
import { InvalidClient, RequestTooLarge } from '../../functions/domain/errors.js';
import { clientCredentials } from '../../functions/http/client-auth.js';
import { errorResponse } from '../../functions/http/errors.js';
import { bodyParams, MAX_BODY_BYTES, queryParam } from '../../functions/http/params.js';
import { matchRoute } from '../../functions/http/route-table.js';
import type { HttpRequest } from '../../functions/http/types.js';

function request(body: string, headers: Record<string, string> = {}, query = ''): HttpRequest {
  const params = new Map<string, string[]>();
  for (const [k, v] of new URLSearchParams(query)) params.set(k, [...(params.get(k) ?? []), v]);
  return {
    method: 'POST',
    path: '/oauth/token',
    pathParameters: {},
    query: params,
    headers,
    body: Buffer.from(body),
    requestId: 'r',
    sourceIp: '127.0.0.1',
  };
}

/** The error as the edge answers it on /oauth/* (functions/http/errors.ts). */
const rendered = (error: unknown) =>
  errorResponse(error, 'oauth', () => {
    throw new Error('not a known error');
  });

const form = (body: string, headers: Record<string, string> = {}) =>
  request(body, { 'content-type': 'application/x-www-form-urlencoded; charset=UTF-8', ...headers });

describe('bodyParams', () => {
  it('reads a form body, treating empty values as omitted (RFC 6749 section 3.1)', () => {
    expect(bodyParams(form('grant_type=client_credentials&scope=&client_id=a%20b'))).toEqual({
      grant_type: 'client_credentials',
      client_id: 'a b',
    });
  });

  it('reads a JSON body of strings', () => {
    expect(bodyParams(request('{"grant_type":"client_credentials","scope":null}', { 'content-type': 'application/json' }))).toEqual({
      grant_type: 'client_credentials',
    });
  });

  it('refuses repeated parameters, naming them', () => {
    expect(() => bodyParams(form('a=1&a=2'))).toThrow(/parameter a is repeated/);
  });

  it('refuses a body over the limit with 413', () => {
    const error = captureError(() => bodyParams(form(`a=${'x'.repeat(MAX_BODY_BYTES)}`)));
    expect(error).toBeInstanceOf(RequestTooLarge);
    expect(rendered(error).status).toBe(413);
  });

  it('refuses a body of another or no content type', () => {
    expect(() => bodyParams(request('grant_type=x', { 'content-type': 'text/plain' }))).toThrow(/content type/);
    expect(() => bodyParams(request('grant_type=x'))).toThrow(/content type/);
    expect(bodyParams(request(''))).toEqual({});
  });

  it('does not echo a malformed JSON body in its error', () => {
    const error = captureError(() => bodyParams(request('{"client_secret":"hunter2-secret', { 'content-type': 'application/json' })));
    expect((error as Error).message).toBe('body is not valid JSON');
  });
});

describe('queryParam', () => {
  it('refuses a repeated query parameter instead of picking one', () => {
    expect(() => queryParam(request('', {}, 'tenant=a&tenant=b'), 'tenant')).toThrow(/repeated/);
    expect(queryParam(request('', {}, 'tenant=acme'), 'tenant')).toBe('acme');
    expect(queryParam(request('', {}, 'tenant='), 'tenant')).toBeUndefined();
  });
});

describe('clientCredentials', () => {
  const basic = (raw: string) => `Basic ${Buffer.from(raw).toString('base64')}`;

  it('decodes Basic credentials form-urlencoded per RFC 6749 section 2.3.1', () => {
    const credentials = clientCredentials(form('', { authorization: basic('my%3Aclient:p%40ss+word%3A') }), {});
    expect(credentials).toEqual({ clientId: 'my:client', clientSecret: 'p@ss word:', usedBasic: true });
  });

  it('reads client_secret_post credentials', () => {
    expect(clientCredentials(form(''), { client_id: 'a', client_secret: 'b' })).toEqual({
      clientId: 'a',
      clientSecret: 'b',
      usedBasic: false,
    });
  });

  it('refuses malformed Basic credentials as a Basic failure', () => {
    for (const header of ['Basic', 'Basic %%%', basic('no-colon'), basic(':secret'), basic('id:'), basic('id:%E0%A4%A')]) {
      const error = captureError(() => clientCredentials(form('', { authorization: header }), {}));
      expect(error).toBeInstanceOf(InvalidClient);
      expect(rendered(error).headers['WWW-Authenticate']).toMatch(/^Basic/);
    }
  });

  it('refuses two methods at once and a body client_id that contradicts Basic', () => {
    const header = { authorization: basic('a:b') };
    expect(() => clientCredentials(form('', header), { client_secret: 'b' })).toThrow(/one client authentication method/);
    expect(() => clientCredentials(form('', header), { client_id: 'other' })).toThrow(/differs/);
    expect(clientCredentials(form('', header), { client_id: 'a' }).clientId).toBe('a');
  });

  it('refuses a missing secret, and a secret in the query string', () => {
    expect(() => clientCredentials(form(''), { client_id: 'a' })).toThrow(InvalidClient);
    expect(() => clientCredentials(request('', {}, 'client_secret=x'), { client_id: 'a', client_secret: 'x' })).toThrow(/query string/);
  });
});

describe('matchRoute', () => {
  it('finds a route and lists the methods its path takes', () => {
    expect(matchRoute('POST', '/oauth/token').match?.route.fn).toBe('oauth');
    expect(matchRoute('GET', '/oauth/token')).toEqual({ match: undefined, allowed: ['POST'] });
    expect(matchRoute('GET', '/oauth/token/extra')).toEqual({ match: undefined, allowed: [] });
  });
});

function captureError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}
