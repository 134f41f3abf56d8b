import { BrokerError, RequestTooLarge, ServiceUnavailable } from '../domain/errors.js';
import { PENDING_AUTHORIZATION_SECONDS } from '../domain/authorization.js';
import { bodyParams } from '../http/params.js';
import type { HttpRequest, HttpResponse, RouteHandlers } from '../http/types.js';
import { HTML } from '../pages/html.js';
import { errorPage, pageHeaders, redirectSource, signInPage } from '../pages/sign-in.js';
import {
  signIn,
  startAuthorization,
  type AuthorizeDeps,
  type SignInDead,
  type SignInOutcome,
  type StartRefusal,
} from '../use-cases/authorize.js';

/**
 * `GET` and `POST /oauth/authorize` (contract section 8): the authorization request and the
 * broker's own sign-in page. Every answer is HTML or a redirect, never the JSON of the other
 * `/oauth/*` routes: a person reads it. Errors a route would otherwise throw (a malformed form,
 * a store outage) become a page here, not the Lambda adapter's JSON.
 */

/** The CSRF cookie: bound to the pending request by its hash (domain/authorization.ts). */
export const CSRF_COOKIE = 'tb_csrf';

export function authorizeRoutes(deps: AuthorizeDeps, options: { issuer: string }): RouteHandlers {
  const { issuer } = options;
  // The form posts to the configured issuer, never to a Host-derived URL (contract, conventions).
  const action = `${issuer}/oauth/authorize`;
  // HttpOnly: no script reads it; SameSite=Strict: no other site's page can post it along (a
  // cross-site POST arrives without it and is refused); Path: only this endpoint ever gets it.
  const cookieAttributes = [
    `Path=${new URL(action).pathname}`,
    'HttpOnly',
    'SameSite=Strict',
    ...(issuer.startsWith('https:') ? ['Secure'] : []),
  ].join('; ');

  return {
    'GET /oauth/authorize': (request) =>
      asPage(deps, async () => {
        const outcome = await startAuthorization(deps, request.query, issuer);
        switch (outcome.kind) {
          case 'refused':
            return page(400, errorPage('This sign-in link is not valid', START_REFUSALS[outcome.reason]));
          case 'redirect':
            return redirect(outcome.location);
          case 'sign-in':
            return {
              ...page(200, signInPage({ action, requestToken: outcome.requestToken, clientId: outcome.client.clientId }), [
                redirectSource(outcome.redirectUri),
              ]),
              cookies: [`${CSRF_COOKIE}=${outcome.csrf}; Max-Age=${PENDING_AUTHORIZATION_SECONDS}; ${cookieAttributes}`],
            };
        }
      }),

    'POST /oauth/authorize': (request) =>
      asPage(deps, async () => {
        const params = bodyParams(request);
        const outcome = await signIn(
          deps,
          {
            requestToken: params.request,
            csrf: cookie(request, CSRF_COOKIE),
            email: params.email?.trim().toLowerCase(),
            password: params.password,
          },
          issuer,
        );
        return signInResponse(outcome, action, cookieAttributes);
      }),
  };
}

function signInResponse(outcome: SignInOutcome, action: string, cookieAttributes: string): HttpResponse {
  if (outcome.kind === 'restart') return page(400, errorPage('Start signing in again', RESTART[outcome.reason]));
  if (outcome.kind === 'redirect') {
    // The cookie has done its work: the request it guarded is used up.
    return { ...redirect(outcome.location), cookies: [`${CSRF_COOKIE}=; Max-Age=0; ${cookieAttributes}`] };
  }
  const formAction = [redirectSource(outcome.auth.redirectUri)];
  const view = { action, requestToken: outcome.requestToken, clientId: outcome.auth.clientId, email: outcome.email };
  if (outcome.kind === 'locked') {
    const response = page(429, signInPage({ ...view, error: lockedMessage(outcome.retryAfter) }), formAction);
    response.headers!['Retry-After'] = String(outcome.retryAfter);
    return response;
  }
  // Wrong credentials: 200, the page again. Not 401: that status means an HTTP authentication
  // scheme and must carry WWW-Authenticate (RFC 9110 section 15.5.2); a form has neither.
  if (outcome.reason === 'credentials') return page(200, signInPage({ ...view, error: WRONG_CREDENTIALS }), formAction);
  return page(400, signInPage({ ...view, error: INVALID_INPUT }), formAction);
}

/** One message for a wrong email and a wrong password (contract section 8). */
export const WRONG_CREDENTIALS = 'The email address or password is not correct.';
const INVALID_INPUT = 'Enter your email address and your password (at least 6 characters).';
const START_AGAIN = 'Go back to the app and start signing in again.';

function lockedMessage(retryAfter: number): string {
  const wait = retryAfter < 90 ? `${retryAfter} seconds` : `${Math.ceil(retryAfter / 60)} minutes`;
  return `Too many failed attempts for this account. Try again in ${wait}.`;
}

const START_REFUSALS: Record<StartRefusal, string> = {
  client_id_missing: 'The app that sent you here did not say which app it is. Nothing was sent back to it.',
  client_id_invalid: 'The app that sent you here gave an invalid app identifier. Nothing was sent back to it.',
  client_unknown: 'The app that sent you here is not registered with this sign-in service. Nothing was sent back to it.',
  redirect_uri_missing: 'The app that sent you here did not say where to return to. Nothing was sent back to it.',
  redirect_uri_invalid: 'The app that sent you here gave an invalid address to return to. Nothing was sent back to it.',
  redirect_uri_unregistered:
    'The app that sent you here asked to return to an address that is not registered for it. Nothing was sent back to it.',
};

const RESTART: Record<SignInDead, string> = {
  malformed: `This sign-in form is not valid. ${START_AGAIN}`,
  exists: `This sign-in form is not known or has expired. ${START_AGAIN}`,
  live: `This sign-in was ended for your account. ${START_AGAIN}`,
  request: `This sign-in form is not valid. ${START_AGAIN}`,
  csrf: `This sign-in form was not opened in this browser, or its cookie is missing. ${START_AGAIN}`,
  unexpired: `This sign-in form has expired (it is valid for 10 minutes). ${START_AGAIN}`,
  pending: `This sign-in form was already used. ${START_AGAIN}`,
};

function page(status: number, html: string, formAction: readonly string[] = []): HttpResponse {
  // 'self': the form posts back here; the redirect target: Chrome applies form-action to the
  // redirect that answers the post, so the app's redirect URI must be allowed too.
  const sources = formAction.length > 0 ? ["'self'", ...formAction] : [];
  return { status, headers: pageHeaders(sources), text: { contentType: HTML, content: html } };
}

function redirect(location: string): HttpResponse {
  // 303: the browser follows with a GET whatever the method that led here (RFC 9110 section 15.4.4).
  return { status: 303, headers: { Location: location, 'Referrer-Policy': 'no-referrer' } };
}

/** Errors as pages: a person, not a program, reads the answers of this endpoint. */
async function asPage(deps: Pick<AuthorizeDeps, 'log'>, answer: () => Promise<HttpResponse>): Promise<HttpResponse> {
  try {
    return await answer();
  } catch (error) {
    if (error instanceof ServiceUnavailable) {
      // As the Lambda adapter logs it: the cause says which call failed (the logger scrubs tokens).
      const cause = error.cause instanceof Error ? { name: error.cause.name, message: error.cause.message } : undefined;
      deps.log.warn('dependency unavailable', { error: { name: error.name, message: error.message, cause } });
      const response = page(503, errorPage('Please try again', 'The sign-in service is temporarily unavailable. Try again shortly.'));
      response.headers!['Retry-After'] = String(error.retryAfter);
      return response;
    }
    if (error instanceof RequestTooLarge) return page(413, errorPage('Start signing in again', `The form is too large. ${START_AGAIN}`));
    // A malformed form (a repeated field, another content type): nothing to retry on this page.
    if (error instanceof BrokerError)
      return page(400, errorPage('Start signing in again', `This sign-in form is not valid. ${START_AGAIN}`));
    throw error;
  }
}

/** A cookie's value from the Cookie header (RFC 6265 section 5.4: `name=value` pairs joined by `; `). */
function cookie(request: HttpRequest, name: string): string | undefined {
  const header = request.headers.cookie;
  if (header === undefined) return undefined;
  for (const pair of header.split(';')) {
    const eq = pair.indexOf('=');
    if (eq !== -1 && pair.slice(0, eq).trim() === name) return pair.slice(eq + 1).trim();
  }
  return undefined;
}
