import { brotliDecompressSync } from 'node:zlib';
import type { RouteHandlers } from '../http/types.js';
import { escapeHtml, HTML, strictPageHeaders } from '../pages/html.js';
import { ISSUER_PLACEHOLDER } from './issuer.js';
import { DOCS_HTML_BR, DOCS_STYLE_HASH, OPENAPI_JSON_BR } from './published.js';

/**
 * `GET /openapi.json` and `GET /docs` (contract section 12): the document and page built at build
 * time (published.ts, compressed): nothing is built, parsed or serialised in the function; on the
 * first request of each, one decompression (about a millisecond) and one replacement of the
 * issuer. Static between deployments, so cacheable like the discovery metadata.
 */
export function apiDescriptionRoutes(options: { issuer: string; cacheControl: string }): RouteHandlers {
  const { issuer, cacheControl } = options;
  let json: string | undefined;
  let html: string | undefined;
  const common = { 'Cache-Control': cacheControl, 'X-Content-Type-Options': 'nosniff' };
  // The sign-in page's strict policy (pages/html.ts): only the inline stylesheet, by its hash; no form.
  const pageHeaders = { ...strictPageHeaders(DOCS_STYLE_HASH), ...common };
  return {
    'GET /openapi.json': async () => {
      json ??= unpack(OPENAPI_JSON_BR).replaceAll(ISSUER_PLACEHOLDER, JSON.stringify(issuer).slice(1, -1));
      return { status: 200, headers: common, text: { contentType: 'application/json', content: json } };
    },
    'GET /docs': async () => {
      html ??= unpack(DOCS_HTML_BR).replaceAll(ISSUER_PLACEHOLDER, escapeHtml(issuer));
      return { status: 200, headers: pageHeaders, text: { contentType: HTML, content: html } };
    },
  };
}

export function unpack(packed: string): string {
  return brotliDecompressSync(Buffer.from(packed, 'base64')).toString('utf8');
}
