import { escapeHtml, htmlDocument, strictPageHeaders, styleHash } from './html.js';

/**
 * The broker's own sign-in page and its error page (contract section 8): plain HTML that works
 * without JavaScript (there is no script at all), with no third-party asset (the one stylesheet
 * is inline), and headers that keep it from being framed, cached, sniffed or leaking its URL.
 *
 * The inline stylesheet is allowed by its SHA-256 in the Content-Security-Policy (CSP Level 2
 * hash-source), computed here once at module load, so the policy needs no 'unsafe-inline' and
 * would refuse any injected <style> or <script>. Everything echoed into a page (the client id,
 * the email typed, a message) goes through `escapeHtml`; the password is never echoed.
 */

const CSS = `
:root{color-scheme:light dark;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;line-height:1.5}
body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;background:#f3f4f6;color:#111827}
main{width:100%;max-width:22rem;margin:1rem;padding:2rem;background:#fff;border-radius:.75rem;box-shadow:0 1px 3px rgba(0,0,0,.15)}
h1{margin:0 0 .25rem;font-size:1.5rem}
p{margin:0 0 1rem}
.client{color:#4b5563}
.alert{padding:.75rem;border-radius:.5rem;background:#fef2f2;color:#991b1b;border:1px solid #fca5a5}
label{display:block;margin:1rem 0 .25rem;font-weight:600}
input{box-sizing:border-box;width:100%;padding:.6rem;font:inherit;border:1px solid #9ca3af;border-radius:.5rem}
input:focus,button:focus{outline:3px solid #2563eb;outline-offset:1px}
button{margin-top:1.5rem;width:100%;padding:.7rem;font:inherit;font-weight:600;color:#fff;background:#1d4ed8;border:0;border-radius:.5rem;cursor:pointer}
@media (prefers-color-scheme:dark){body{background:#111827;color:#f9fafb}main{background:#1f2937}.client{color:#d1d5db}input{background:#111827;color:#f9fafb}.alert{background:#450a0a;color:#fecaca;border-color:#b91c1c}}
`.trim();

/** CSP hash-source of the inline stylesheet: exactly the bytes between <style> and </style>. */
export const STYLE_HASH = styleHash(CSS);

/**
 * The page's own headers (the Lambda adapter adds `Cache-Control: no-store` and `Pragma`):
 * frame-ancestors and X-Frame-Options against clickjacking of the password form, no referrer
 * (the authorize URL carries the state and the challenge), no MIME sniffing. `formAction`: the
 * CSP sources the form may post to and be redirected to after the post (Chrome applies
 * form-action to the redirect too); none on a page without a form.
 */
export function pageHeaders(formAction: readonly string[] = []): Record<string, string> {
  return { ...strictPageHeaders(STYLE_HASH, formAction), 'Cache-Control': 'no-store' };
}

/**
 * The CSP source for where a sign-in redirects: the redirect URI's origin for http(s), or its
 * scheme for a private-use scheme (RFC 8252 section 7.1, `com.example.app:`). CSP has no syntax
 * for an IPv6 literal host (CSP3 host-source), so `http://[::1]:port` is allowed by scheme; so is
 * anything the strict pattern below does not accept, rather than putting it in a header raw.
 */
export function redirectSource(redirectUri: string): string {
  const url = new URL(redirectUri);
  if (url.protocol === 'http:' || url.protocol === 'https:') {
    return /^https?:\/\/[A-Za-z0-9.-]+(:\d+)?$/.test(url.origin) ? url.origin : url.protocol;
  }
  return /^[a-z][a-z0-9+.-]*:$/i.test(url.protocol) ? url.protocol : "'none'";
}

function document(title: string, main: string): string {
  return htmlDocument(title, CSS, `<main>\n${main}\n</main>`);
}

export interface SignInView {
  /** `${issuer}/oauth/authorize`: the form posts back to the broker under its configured issuer. */
  action: string;
  /** The request token of the pending authorization (the record's selector; never stored in clear). */
  requestToken: string;
  /** The app the customer signs in to. */
  clientId: string;
  /** The email typed on a failed attempt, shown again. */
  email?: string;
  /** Shown above the form and announced by screen readers (role="alert"). */
  error?: string;
}

/**
 * The sign-in form. Autofocus goes to the first field to fill: the email, or after a failed
 * attempt (the email kept) the password. The error is a live region, so it is read out when the
 * page comes back, and the fields point at it with aria-describedby.
 */
export function signInPage(view: SignInView): string {
  const email = view.email ?? '';
  const focusPassword = email !== '';
  const described = view.error ? ' aria-describedby="error" aria-invalid="true"' : '';
  const error = view.error ? `<p class="alert" id="error" role="alert">${escapeHtml(view.error)}</p>\n` : '';
  return document(
    'Sign in',
    `<h1>Sign in</h1>
<p class="client">to continue to <strong>${escapeHtml(view.clientId)}</strong></p>
${error}<form method="post" action="${escapeHtml(view.action)}">
<input type="hidden" name="request" value="${escapeHtml(view.requestToken)}">
<label for="email">Email</label>
<input id="email" name="email" type="email" autocomplete="username" required maxlength="254" value="${escapeHtml(email)}"${focusPassword ? '' : ' autofocus'}${described}>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required maxlength="1024"${focusPassword ? ' autofocus' : ''}${described}>
<button type="submit">Sign in</button>
</form>`,
  );
}

/** A page that ends the flow here, with no way back to the app but starting again from it. */
export function errorPage(heading: string, message: string): string {
  return document(heading, `<h1>${escapeHtml(heading)}</h1>\n<p class="alert" role="alert">${escapeHtml(message)}</p>`);
}
