/**
 * A tiny RFC 5322 / MIME reader for tests: headers (unfolded, RFC 2047 B-words decoded) and the
 * parts of a multipart/alternative message, bodies decoded from base64. Also reads the opt-in
 * link out of a mail, the way a user would click it.
 */

export interface ParsedMail {
  headers: Record<string, string>;
  parts: { contentType: string; body: string }[];
}

function decodeWords(value: string): string {
  return value
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?UTF-8\?B\?([A-Za-z0-9+/=]*)\?=/gi, (_, b64: string) => Buffer.from(b64, 'base64').toString('utf8'));
}

function splitHeaders(block: string): Record<string, string> {
  const headers: Record<string, string> = {};
  const unfolded = block.replace(/\r\n[ \t]/g, ' ');
  for (const line of unfolded.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) throw new Error(`not a header line: ${line}`);
    headers[line.slice(0, colon).toLowerCase()] = decodeWords(line.slice(colon + 1).trim());
  }
  return headers;
}

export function parseEml(raw: string): ParsedMail {
  if (/[^\r]\n|\r(?!\n)/.test(raw)) throw new Error('a line does not end in CRLF');
  const split = raw.indexOf('\r\n\r\n');
  if (split < 0) throw new Error('no blank line after the headers');
  const headers = splitHeaders(raw.slice(0, split));
  const body = raw.slice(split + 4);
  const boundary = /boundary="([^"]+)"/.exec(headers['content-type'] ?? '')?.[1];
  if (!boundary) throw new Error('not multipart');
  const end = body.indexOf(`\r\n--${boundary}--\r\n`);
  if (end < 0) throw new Error('no closing boundary');
  const sections = body.slice(0, end).split(`--${boundary}\r\n`).slice(1);
  const parts = sections.map((section) => {
    const at = section.indexOf('\r\n\r\n');
    const partHeaders = splitHeaders(section.slice(0, at));
    const content = section.slice(at + 4).replace(/\r\n$/, '');
    const encoding = partHeaders['content-transfer-encoding']?.toLowerCase();
    const decoded = encoding === 'base64' ? Buffer.from(content.replace(/\r\n/g, ''), 'base64').toString('utf8') : content;
    return { contentType: partHeaders['content-type'] ?? '', body: decoded };
  });
  return { headers, parts };
}

/** The first link in the text part that starts with `prefix` (a user copying it from the mail). */
export function linkFromMail(raw: string, prefix: string): string {
  const text = parseEml(raw).parts.find((p) => p.contentType.startsWith('text/plain'));
  const link = text?.body.split(/\s+/).find((word) => word.startsWith(prefix));
  if (!link) throw new Error(`no link starting with ${prefix} in the mail`);
  return link;
}
