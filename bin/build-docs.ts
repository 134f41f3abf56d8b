/**
 * Builds the API document and its reference page into functions/openapi/published.ts, which the
 * discovery function serves (`GET /openapi.json`, `GET /docs`). Run it after changing a route, an
 * error table or a response body: `npm test` fails until the published copy is current.
 *
 *   npm run build:docs
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { publish, publishedModule } from '../functions/openapi/publish.js';

const root = fileURLToPath(new URL('../', import.meta.url));
const { version } = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { version: string };
const target = `${root}functions/openapi/published.ts`;
const published = publish(version);
writeFileSync(target, publishedModule(published));
// In the project's format, so `biome ci` passes on the generated file too.
execFileSync(`${root}node_modules/.bin/biome`, ['format', '--write', target], { stdio: 'inherit' });
console.log(`${target}: openapi.json ${published.OPENAPI_JSON.length} bytes, docs page ${published.DOCS_HTML.length} bytes`);
