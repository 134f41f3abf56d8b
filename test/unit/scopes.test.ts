import { describe, expect, it } from 'vitest';
import { InvalidScope } from '../../functions/domain/errors.js';
import { grantScopes, scopeString } from '../../functions/domain/scopes.js';

describe('grantScopes', () => {
  const client = ['order.order_read', 'order.order_manage'];

  it('grants all of the client’s scopes, sorted, when none are requested', () => {
    expect(grantScopes(undefined, client)).toEqual(['order.order_manage', 'order.order_read']);
    expect(grantScopes('   ', client)).toEqual(['order.order_manage', 'order.order_read']);
  });

  it('grants the requested subset in canonical order, so equal requests share a cache entry', () => {
    expect(grantScopes('order.order_read  order.order_read', client)).toEqual(['order.order_read']);
    expect(grantScopes('order.order_read order.order_manage', client)).toEqual(grantScopes('order.order_manage order.order_read', client));
  });

  it('refuses a scope the client does not hold, naming it', () => {
    expect(() => grantScopes('order.order_read admin', client)).toThrow(InvalidScope);
    expect(() => grantScopes('admin', client)).toThrow(/scope admin is not granted/);
  });

  it('refuses characters RFC 6749 section 3.3 does not allow in a scope token', () => {
    expect(() => grantScopes('order"read', ['order"read'])).toThrow(/malformed/);
    expect(() => grantScopes('order\\read', ['order\\read'])).toThrow(/malformed/);
  });

  it('appends the tenant to the wire scope', () => {
    expect(scopeString(['a', 'b'], 'acme')).toBe('a b tenant=acme');
  });
});
