import type { WireShape } from './errors.js';

/**
 * Every route the broker serves, and the Lambda function that serves it. The CDK stack wires
 * these to API Gateway and the local server dispatches by them, so both see the same map.
 */

export type FunctionName = 'oauth' | 'discovery' | 'storefront' | 'authorize' | 'federation' | 'signup';

export interface RouteSpec {
  method: 'GET' | 'POST';
  /** API Gateway syntax: `{name}` is a path parameter. */
  path: string;
  fn: FunctionName;
}

export const ROUTES: readonly RouteSpec[] = [
  { method: 'POST', path: '/oauth/token', fn: 'oauth' },
  { method: 'POST', path: '/oauth/introspect', fn: 'oauth' },
  { method: 'POST', path: '/oauth/revoke', fn: 'oauth' },
  // The authorization endpoint and the broker's own sign-in page (contract section 8): HTML, and
  // a function of its own, so its scrypt-bound sign-ins cannot take /oauth/token's concurrency.
  { method: 'GET', path: '/oauth/authorize', fn: 'authorize' },
  { method: 'POST', path: '/oauth/authorize', fn: 'authorize' },
  { method: 'GET', path: '/.well-known/oauth-authorization-server', fn: 'discovery' },
  { method: 'GET', path: '/.well-known/jwks.json', fn: 'discovery' },
  // The API description (contract section 12): the OpenAPI document and its reference page, both
  // built at build time (functions/openapi/), static strings served by the discovery function.
  { method: 'GET', path: '/openapi.json', fn: 'discovery' },
  { method: 'GET', path: '/docs', fn: 'discovery' },
  { method: 'GET', path: '/customerlogin/auth/anonymous/login', fn: 'storefront' },
  { method: 'GET', path: '/customerlogin/auth/anonymous/refresh', fn: 'storefront' },
  { method: 'POST', path: '/customer/{tenant}/login', fn: 'storefront' },
  { method: 'GET', path: '/customer/{tenant}/refreshauthtoken', fn: 'storefront' },
  { method: 'GET', path: '/customer/{tenant}/validateauthtoken', fn: 'storefront' },
  { method: 'GET', path: '/customer/{tenant}/logout', fn: 'storefront' },
  // Federated customers (contract section 10): a function of its own, the only one that calls out
  // (identity providers, 5 s budget) and reads the provider secrets; a slow provider holds its
  // instances, never the storefront's.
  { method: 'POST', path: '/customer/{tenant}/socialLogin', fn: 'federation' },
  { method: 'POST', path: '/customer/{tenant}/exchangeauthtoken', fn: 'federation' },
  // Signup with double opt-in (contract section 11): a function of its own, the only one that
  // sends mail and writes pending customers (with their password hashes).
  { method: 'POST', path: '/customer/{tenant}/signup', fn: 'signup' },
  { method: 'GET', path: '/customer/{tenant}/signup/optin/{token}', fn: 'signup' },
  { method: 'POST', path: '/customer/{tenant}/signup/optin/refresh_token', fn: 'signup' },
];

export function routeKey(route: Pick<RouteSpec, 'method' | 'path'>): string {
  return `${route.method} ${route.path}`;
}

/** OAuth endpoints answer in RFC 6749 shape; storefront (Emporix) paths in Emporix shape. */
export function shapeOf(path: string): WireShape {
  return path.startsWith('/oauth/') || path.startsWith('/.well-known/') ? 'oauth' : 'emporix';
}

export interface RouteMatch {
  route: RouteSpec;
  pathParameters: Record<string, string>;
}

/** Routes without path parameters, by path: most requests are found with one Map lookup. */
const FIXED = new Map<string, RouteSpec[]>();
const PARAMETERISED: RouteSpec[] = [];
for (const route of ROUTES) {
  if (route.path.includes('{')) PARAMETERISED.push(route);
  else FIXED.set(route.path, [...(FIXED.get(route.path) ?? []), route]);
}

/** Finds the route for a concrete path; `allowed` lists the methods that path does take. */
export function matchRoute(method: string, path: string): { match?: RouteMatch; allowed: string[] } {
  const fixed = FIXED.get(path);
  if (fixed) {
    const route = fixed.find((r) => r.method === method);
    return { match: route ? { route, pathParameters: {} } : undefined, allowed: fixed.map((r) => r.method) };
  }
  const allowed: string[] = [];
  let match: RouteMatch | undefined;
  for (const route of PARAMETERISED) {
    const pathParameters = matchPath(route.path, path);
    if (!pathParameters) continue;
    allowed.push(route.method);
    if (route.method === method) match = { route, pathParameters };
  }
  return { match, allowed };
}

function matchPath(pattern: string, path: string): Record<string, string> | undefined {
  const want = pattern.split('/');
  const got = path.split('/');
  if (want.length !== got.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i] as string;
    const g = got[i] as string;
    if (w.startsWith('{') && w.endsWith('}')) {
      if (g === '') return undefined;
      params[w.slice(1, -1)] = decodeURIComponentSafe(g);
    } else if (w !== g) {
      return undefined;
    }
  }
  return params;
}

function decodeURIComponentSafe(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
