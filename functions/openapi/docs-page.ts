import { escapeHtml, htmlDocument, styleHash } from '../pages/html.js';
import type { Json, JsonObject } from './types.js';

/**
 * The API reference page (`GET /docs`): the OpenAPI document rendered as one self-contained HTML
 * page at build time (bin/build-docs.ts). No script, no font, no image, no third-party asset; the
 * one stylesheet is inline and allowed by its hash in the Content-Security-Policy, as on the
 * sign-in page (pages/sign-in.ts). Everything taken from the document is escaped.
 */

const CSS = `
:root{color-scheme:light dark;--fg:#111827;--muted:#4b5563;--bg:#fff;--panel:#f3f4f6;--line:#d1d5db;--link:#1d4ed8;--code:#eef2ff;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;line-height:1.5}
@media (prefers-color-scheme:dark){:root{--fg:#f9fafb;--muted:#d1d5db;--bg:#111827;--panel:#1f2937;--line:#374151;--link:#93c5fd;--code:#1e293b}}
body{margin:0;background:var(--bg);color:var(--fg)}
.layout{display:flex;max-width:80rem;margin:0 auto}
nav{flex:0 0 17rem;position:sticky;top:0;align-self:flex-start;max-height:100vh;overflow:auto;padding:1rem;border-right:1px solid var(--line);font-size:.9rem}
nav h2{font-size:.8rem;text-transform:uppercase;letter-spacing:.05em;color:var(--muted);margin:1rem 0 .25rem}
nav ul{list-style:none;margin:0;padding:0}
nav li{margin:.15rem 0;overflow-wrap:anywhere}
main{flex:1;min-width:0;padding:1rem 2rem 4rem}
a{color:var(--link)}
h1{margin:.5rem 0 0}
h2.tag{margin-top:3rem;padding-top:1rem;border-top:2px solid var(--line)}
section.op{margin:2rem 0;padding:1rem 1.25rem;border:1px solid var(--line);border-radius:.5rem}
h3{margin:0;font-size:1.15rem;word-break:break-all}
h4{margin:1.25rem 0 .5rem;font-size:1rem}
.method{display:inline-block;min-width:3.5rem;margin-right:.5rem;padding:.1rem .4rem;border-radius:.25rem;font-size:.8rem;font-weight:700;text-align:center;color:#fff;background:#1d4ed8}
.method.get{background:#047857}
.meta{color:var(--muted)}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.85em}
code{background:var(--code);padding:0 .2rem;border-radius:.2rem}
pre{background:var(--panel);padding:.75rem;border-radius:.4rem;overflow:auto;max-height:24rem}
pre code{background:none;padding:0}
.table{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{text-align:left;vertical-align:top;padding:.35rem .5rem;border-bottom:1px solid var(--line)}
th{color:var(--muted);font-weight:600}
td p,li p{margin:0}
.status{font-weight:700}
.req{color:#b91c1c;font-size:.8rem}
details{margin:.5rem 0}
summary{cursor:pointer}
@media (max-width:50rem){.layout{display:block}nav{position:static;max-height:none;border-right:0;border-bottom:1px solid var(--line)}main{padding:1rem}}
`.trim();

/** CSP hash-source of the inline stylesheet. */
export const DOCS_STYLE_HASH = styleHash(CSS);

const esc = escapeHtml;

/** The document's Markdown, the little of it used: paragraphs, `-` lists, `code` and **bold**. */
function markdown(text: string): string {
  const inline = (line: string) =>
    esc(line)
      .replace(/`([^`]+)`/g, '<code>$1</code>')
      .replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>');
  const blocks: string[] = [];
  let list: string[] = [];
  const flush = () => {
    if (list.length) blocks.push(`<ul>${list.map((item) => `<li>${inline(item)}</li>`).join('')}</ul>`);
    list = [];
  };
  for (const paragraph of text.split(/\n{2,}/)) {
    for (const line of paragraph.split('\n')) {
      if (line.startsWith('- ')) list.push(line.slice(2));
      else {
        flush();
        if (line.trim()) blocks.push(`<p>${inline(line)}</p>`);
      }
    }
    flush();
  }
  return blocks.join('\n');
}

/** One paragraph's Markdown, without the paragraph. */
function inlineMarkdown(text: string): string {
  return markdown(text).replace(/^<p>|<\/p>$/g, '');
}

const obj = (value: Json | undefined): JsonObject => (value && typeof value === 'object' && !Array.isArray(value) ? value : {});
const arr = (value: Json | undefined): Json[] => (Array.isArray(value) ? value : []);
const str = (value: Json | undefined): string => (typeof value === 'string' ? value : '');

function refName(ref: string): string {
  return ref.slice(ref.lastIndexOf('/') + 1);
}

/** A schema in a few words: a type, a constant, an enum, a link to a named schema. */
function typeOf(schema: JsonObject): string {
  if (typeof schema.$ref === 'string') {
    const name = refName(schema.$ref);
    return `<a href="#schema-${esc(name)}">${esc(name)}</a>`;
  }
  if ('const' in schema) return `<code>${esc(JSON.stringify(schema.const))}</code>`;
  if (Array.isArray(schema.enum)) return schema.enum.map((v) => `<code>${esc(JSON.stringify(v))}</code>`).join(' | ');
  for (const key of ['oneOf', 'anyOf'] as const) {
    if (Array.isArray(schema[key]))
      return `${key === 'oneOf' ? 'one of' : 'any of'} ${arr(schema[key])
        .map((s) => typeOf(obj(s)))
        .join(', ')}`;
  }
  const type = Array.isArray(schema.type) ? schema.type.join(' | ') : str(schema.type) || 'any';
  if (type === 'array') return `array of ${typeOf(obj(schema.items))}`;
  return esc(type);
}

function constraints(schema: JsonObject): string {
  const parts: string[] = [];
  if (typeof schema.minLength === 'number') parts.push(`min length ${schema.minLength}`);
  if (typeof schema.maxLength === 'number') parts.push(`max length ${schema.maxLength}`);
  if (typeof schema.minimum === 'number') parts.push(`≥ ${schema.minimum}`);
  if (typeof schema.pattern === 'string') parts.push(`pattern <code>${esc(schema.pattern)}</code>`);
  if (typeof schema.format === 'string') parts.push(`format ${esc(schema.format)}`);
  if (schema.deprecated === true) parts.push('<strong>deprecated</strong>');
  return parts.length ? ` <span class="meta">(${parts.join(', ')})</span>` : '';
}

/** The rows of an object schema's properties, nested objects flattened with dotted names. */
function propertyRows(schema: JsonObject, prefix = ''): string[] {
  const required = new Set(arr(schema.required).map(String));
  const rows: string[] = [];
  for (const [name, value] of Object.entries(obj(schema.properties))) {
    const property = obj(value);
    const nested = property.type === 'object' && property.properties !== undefined;
    rows.push(
      `<tr><td><code>${esc(prefix + name)}</code>${required.has(name) ? ' <span class="req">required</span>' : ''}</td><td>${
        nested ? 'object' : typeOf(property)
      }${constraints(property)}</td><td>${markdown(str(property.description))}</td></tr>`,
    );
    if (nested) rows.push(...propertyRows(property, `${prefix}${name}.`));
  }
  return rows;
}

/** A schema as a table of its properties, or in a few words when it has none. */
function schemaBlock(schema: JsonObject): string {
  const parts: string[] = [];
  for (const key of ['oneOf', 'anyOf', 'allOf'] as const) {
    if (Array.isArray(schema[key])) {
      const items = arr(schema[key]).map((s) => obj(s));
      if (items.every((s) => typeof s.$ref === 'string')) return `<p>${typeOf(schema)}</p>`;
      return items.map((s) => schemaBlock(s)).join(key === 'allOf' ? '' : '<p class="meta">or</p>');
    }
  }
  if (typeof schema.$ref === 'string') return `<p>${typeOf(schema)}</p>`;
  if (str(schema.description)) parts.push(markdown(str(schema.description)));
  const rows = propertyRows(schema);
  if (rows.length) {
    parts.push(
      `<div class="table"><table><thead><tr><th>Field</th><th>Type</th><th>Description</th></tr></thead><tbody>${rows.join('')}</tbody></table></div>`,
    );
    if (schema.additionalProperties === false) parts.push('<p class="meta">No other fields.</p>');
  } else if (schema.type !== 'object') {
    parts.push(`<p>${typeOf(schema)}${constraints(schema)}</p>`);
  }
  return parts.join('\n');
}

function example(value: Json, summary?: string): string {
  const body = `<pre><code>${esc(JSON.stringify(value, null, 2))}</code></pre>`;
  return summary
    ? `<details><summary>Example: ${esc(summary)}</summary>${body}</details>`
    : `<details><summary>Example</summary>${body}</details>`;
}

/** Every enum in a schema, by the property it constrains: an error body's codes in a line. */
function enums(schema: Json | undefined, name = '', found: string[] = []): string[] {
  if (Array.isArray(schema)) for (const item of schema) enums(item, name, found);
  else if (schema && typeof schema === 'object') {
    if (Array.isArray(schema.enum) && name)
      found.push(`<code>${esc(name)}</code> ${schema.enum.map((v) => `<code>${esc(String(v))}</code>`).join(' | ')}`);
    for (const [key, value] of Object.entries(schema)) {
      if (key === 'properties') for (const [property, sub] of Object.entries(obj(value))) enums(sub, property, found);
      else if (key !== 'enum') enums(value, name, found);
    }
  }
  return found;
}

const SHAPES = {
  fault: 'an Emporix 401 fault (<code>fault.faultstring</code>, <code>fault.detail.errorcode</code>)',
  oauth: 'the <a href="#schema-OAuthError">RFC 6749 shape</a>',
  emporix: 'the <a href="#schema-EmporixError">Emporix shape</a>',
};

/** An error body in a line: its shape (or shapes) by name and the codes it can carry. */
function errorBlock(schema: JsonObject): string {
  const variants = Array.isArray(schema.oneOf) ? schema.oneOf.map((v) => obj(v)) : [schema];
  const shapes = variants.map((v) => {
    const properties = obj(v.properties);
    return 'fault' in properties ? SHAPES.fault : 'error_description' in properties ? SHAPES.oauth : SHAPES.emporix;
  });
  const codes = enums(schema);
  return `<p>Body: ${shapes.join(' or ')}${codes.length ? `; ${codes.join('; ')}` : ''}.</p>`;
}

function content(media: JsonObject, schemas: JsonObject, isError = false): string {
  const parts: string[] = [];
  for (const [type, value] of Object.entries(media)) {
    const entry = obj(value);
    const schema = obj(entry.schema);
    parts.push(`<p class="meta"><code>${esc(type)}</code></p>`);
    if (isError && typeof schema.$ref !== 'string') parts.push(errorBlock(schema));
    else if (typeof schema.$ref === 'string') {
      // A named schema in full where it is used, and a link to it.
      parts.push(`<p>Schema: ${typeOf(schema)}</p>`, schemaBlock(obj(schemas[refName(schema.$ref)])));
    } else parts.push(schemaBlock(schema));
    const examples = obj(entry.examples);
    for (const [name, ex] of Object.entries(examples)) parts.push(example(obj(ex).value ?? null, str(obj(ex).summary) || name));
    if (Object.keys(examples).length === 0 && typeof schema.$ref === 'string') {
      const named = obj(schemas[refName(schema.$ref)]);
      const first = arr(named.examples)[0];
      if (first !== undefined) parts.push(example(first));
    }
  }
  return parts.join('\n');
}

function resolve(value: Json | undefined, components: JsonObject, kind: string): JsonObject {
  const node = obj(value);
  if (typeof node.$ref === 'string') return obj(obj(components[kind])[refName(node.$ref)]);
  return node;
}

function security(requirements: Json[], schemes: JsonObject): string {
  if (requirements.length === 0) return 'none: a public endpoint';
  return requirements
    .map((requirement) => {
      const names = Object.keys(obj(requirement));
      if (names.length === 0) return 'none of the schemes (see the request)';
      return names
        .map((name) => `<a href="#security-${esc(name)}">${esc(name)}</a> (${esc(str(obj(schemes[name]).scheme))})`)
        .join(' and ');
    })
    .join(' or ');
}

function operationHtml(method: string, path: string, op: JsonObject, components: JsonObject): string {
  const schemas = obj(components.schemas);
  const parts = [
    `<section class="op" id="${esc(str(op.operationId))}">`,
    `<h3><span class="method ${esc(method)}">${esc(method.toUpperCase())}</span><code>${esc(path)}</code></h3>`,
    `<p><strong>${esc(str(op.summary))}</strong></p>`,
    markdown(str(op.description)),
    `<p class="meta">Authentication: ${security(arr(op.security), obj(components.securitySchemes))}</p>`,
  ];
  const parameters = arr(op.parameters).map((p) => obj(p));
  if (parameters.length) {
    const rows = parameters.map((p) => {
      const schema = obj(p.schema);
      return `<tr><td><code>${esc(str(p.name))}</code>${p.required === true ? ' <span class="req">required</span>' : ''}${
        p.deprecated === true ? ' <span class="meta">deprecated</span>' : ''
      }</td><td>${esc(str(p.in))}</td><td>${typeOf(schema)}${constraints(schema)}</td><td>${markdown(str(p.description))}</td></tr>`;
    });
    parts.push(
      `<h4>Parameters</h4><div class="table"><table><thead><tr><th>Name</th><th>In</th><th>Type</th><th>Description</th></tr></thead><tbody>${rows.join('')}</tbody></table></div>`,
    );
  }
  const body = obj(op.requestBody);
  if (body.content) {
    parts.push('<h4>Request body</h4>', markdown(str(body.description)), content(obj(body.content), schemas));
  }
  parts.push('<h4>Responses</h4>');
  for (const [status, value] of Object.entries(obj(op.responses))) {
    const response = resolve(value, components, 'responses');
    const headers = Object.entries(obj(response.headers)).map(([name, h]) => {
      const header = resolve(h, components, 'headers');
      return `<li><code>${esc(name)}</code>: ${inlineMarkdown(str(header.description))}</li>`;
    });
    parts.push(
      `<div class="response"><p><span class="status">${esc(status === 'default' ? 'Other (500)' : status)}</span> ${inlineMarkdown(str(response.description))}</p>`,
      headers.length ? `<p class="meta">Headers:</p><ul>${headers.join('')}</ul>` : '',
      content(obj(response.content), schemas, !/^[23]/.test(status)),
      '</div>',
    );
  }
  parts.push('</section>');
  return parts.join('\n');
}

/** The reference page of `document`: every operation by tag, then the schemas and the schemes. */
export function renderDocsPage(document: JsonObject): string {
  const info = obj(document.info);
  const components = obj(document.components);
  const paths = obj(document.paths);
  const server = str(obj(arr(document.servers)[0]).url);
  const tags = arr(document.tags).map((t) => obj(t));
  const byTag = new Map<string, string[]>(tags.map((t) => [str(t.name), []]));
  const navByTag = new Map<string, string[]>(tags.map((t) => [str(t.name), []]));
  for (const [path, item] of Object.entries(paths)) {
    for (const [method, value] of Object.entries(obj(item))) {
      const op = obj(value);
      const tag = str(arr(op.tags)[0]);
      byTag.get(tag)?.push(operationHtml(method, path, op, components));
      navByTag
        .get(tag)
        ?.push(`<li><a href="#${esc(str(op.operationId))}"><span class="meta">${esc(method.toUpperCase())}</span> ${esc(path)}</a></li>`);
    }
  }
  const nav = tags
    .map((t) => `<h2>${esc(str(t.name))}</h2><ul>${(navByTag.get(str(t.name)) ?? []).join('')}</ul>`)
    .concat(
      '<h2>Reference</h2><ul><li><a href="#schemas">Schemas</a></li><li><a href="#security">Authentication</a></li><li><a href="openapi.json">openapi.json</a></li></ul>',
    );
  const sections = tags.map(
    (t) =>
      `<h2 class="tag" id="tag-${esc(str(t.name).replace(/\W+/g, '-'))}">${esc(str(t.name))}</h2>\n${markdown(str(t.description))}\n${(byTag.get(str(t.name)) ?? []).join('\n')}`,
  );
  const schemas = Object.entries(obj(components.schemas)).map(
    ([name, schema]) =>
      `<section class="op" id="schema-${esc(name)}"><h3>${esc(name)}</h3>\n${schemaBlock(obj(schema))}${
        arr(obj(schema).examples).length ? example(arr(obj(schema).examples)[0]!) : ''
      }</section>`,
  );
  const schemes = Object.entries(obj(components.securitySchemes)).map(
    ([name, scheme]) =>
      `<section class="op" id="security-${esc(name)}"><h3>${esc(name)}</h3><p class="meta">${esc(str(obj(scheme).type))} ${esc(
        str(obj(scheme).scheme),
      )}</p>${markdown(str(obj(scheme).description))}</section>`,
  );
  const title = `${str(info.title)} API reference`;
  return htmlDocument(
    title,
    CSS,
    `<div class="layout">
<nav aria-label="Operations">
${nav.join('\n')}
</nav>
<main>
<h1>${esc(title)}</h1>
<p class="meta">Version ${esc(str(info.version))} · OpenAPI ${esc(str(document.openapi))} · Base URL <code>${esc(server)}</code> · <a href="openapi.json">openapi.json</a></p>
<p><strong>${esc(str(info.summary))}</strong></p>
${markdown(str(info.description))}
${sections.join('\n')}
<h2 class="tag" id="schemas">Schemas</h2>
${schemas.join('\n')}
<h2 class="tag" id="security">Authentication</h2>
${schemes.join('\n')}
</main>
</div>`,
  );
}
