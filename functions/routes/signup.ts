import { InvalidRequest, RequestTooLarge } from '../domain/errors.js';
import { MAX_LENGTH } from '../domain/identifiers.js';
import { scanJson } from '../domain/json-scan.js';
import { customerLoginBody } from '../domain/storefront-responses.js';
import { bearerToken, legacy, tenantFrom } from '../http/emporix.js';
import type { HttpRequest, RouteHandlers } from '../http/types.js';
import { confirmSignup, readEmail, readSignupBody, resendOptIn, signup, type SignupDeps } from '../use-cases/signup.js';

/**
 * Signup with double opt-in (contract section 11): `POST /customer/{tenant}/signup`,
 * `GET /customer/{tenant}/signup/optin/{token}` and `POST /customer/{tenant}/signup/optin/refresh_token`,
 * in the Emporix shapes. Bodies are bounded (16 KiB, nesting and member names checked by the JSON
 * scan) before anything is read from the store; the token in the path is bounded and shaped.
 */
export function signupRoutes(deps: SignupDeps, options: { issuer: string }): RouteHandlers {
  return {
    'POST /customer/{tenant}/signup': async (request) => {
      const tenant = tenantFrom(request.pathParameters.tenant);
      const body = readSignupBody(jsonObject(request));
      const result = await signup(deps, { tenant, bearer: bearerToken(request), request: body, sourceIp: request.sourceIp });
      return { status: 201, body: { id: result.id } };
    },

    'GET /customer/{tenant}/signup/optin/{token}': async (request) => {
      const tenant = tenantFrom(request.pathParameters.tenant);
      const token = request.pathParameters.token ?? '';
      if (token.length === 0 || token.length > MAX_LENGTH.token || !/^[A-Za-z0-9_.-]+$/.test(token)) {
        throw new InvalidRequest('the confirmation link is invalid, used or expired', [
          { field: 'token', type: 'invalid', message: 'invalid, used or expired' },
        ]);
      }
      const result = await confirmSignup(deps, { tenant, bearer: bearerToken(request), token, issuer: options.issuer });
      const body = customerLoginBody(result.pair, result.saasToken, result.sessionId, result.initialPassword);
      return legacy(body, result.tenant.settings.legacyTokenFieldsUntil, deps.clock());
    },

    'POST /customer/{tenant}/signup/optin/refresh_token': async (request) => {
      const tenant = tenantFrom(request.pathParameters.tenant);
      const email = readEmail(jsonObject(request).email, 'email');
      await resendOptIn(deps, { tenant, email, sourceIp: request.sourceIp });
      return { status: 202 };
    },
  };
}

const MAX_SIGNUP_BYTES = 16 * 1024;
const MAX_DEPTH = 8;

/** A JSON object body: bounded, well-formed, no repeated member, not nested deeper than 8. */
function jsonObject(request: HttpRequest): Record<string, unknown> {
  if (request.body.length > MAX_SIGNUP_BYTES) throw new RequestTooLarge(MAX_SIGNUP_BYTES);
  const contentType = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (contentType !== 'application/json') throw new InvalidRequest('content type must be application/json');
  const text = request.body.toString('utf8');
  const scan = scanJson(text);
  // The parser's message may quote the body (a password): say nothing of it.
  if (!scan.ok) throw new InvalidRequest('body is not valid JSON');
  if (scan.duplicate) throw new InvalidRequest(`member ${scan.duplicate.key.slice(0, 64)} is repeated`);
  const parsed: unknown = JSON.parse(text);
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new InvalidRequest('JSON body must be an object');
  if (depth(parsed) > MAX_DEPTH) throw new InvalidRequest('JSON body is nested too deeply');
  return parsed as Record<string, unknown>;
}

function depth(value: unknown): number {
  if (value === null || typeof value !== 'object') return 0;
  let deepest = 0;
  for (const child of Object.values(value)) {
    deepest = Math.max(deepest, depth(child));
    if (deepest > MAX_DEPTH) break;
  }
  return deepest + 1;
}
