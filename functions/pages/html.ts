import { hash } from 'node:crypto';

/**
 * What the broker's HTML pages share (the sign-in page, pages/sign-in.ts; the API reference,
 * openapi/docs-page.ts): one escaping rule, one document skeleton with a single inline
 * stylesheet, and the strict headers that allow that stylesheet by its hash and nothing else.
 */

export const HTML = 'text/html; charset=utf-8';

/** The five characters that can end a text node or an attribute value (OWASP XSS prevention rule 1 and 2). */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}
const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** CSP hash-source of an inline stylesheet: exactly the bytes between <style> and </style> (CSP Level 2). */
export function styleHash(css: string): string {
  return `'sha256-${hash('sha256', css, 'base64')}'`;
}

/**
 * A page's own security headers: only its inline stylesheet (by `style`, its hash), forms posting
 * only to `formAction` (none on a page without a form), never framed (CSP and X-Frame-Options), no
 * referrer, no MIME sniffing. Caching is the caller's.
 */
export function strictPageHeaders(style: string, formAction: readonly string[] = []): Record<string, string> {
  const policy = [
    "default-src 'none'",
    `style-src ${style}`,
    `form-action ${formAction.length > 0 ? formAction.join(' ') : "'none'"}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; ');
  return {
    'Content-Security-Policy': policy,
    'X-Frame-Options': 'DENY',
    'Referrer-Policy': 'no-referrer',
    'X-Content-Type-Options': 'nosniff',
  };
}

/** A whole page: `title` escaped, `css` as the one inline stylesheet, `body` as given. */
export function htmlDocument(title: string, css: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)}</title>
<style>${css}</style>
</head>
<body>
${body}
</body>
</html>
`;
}
