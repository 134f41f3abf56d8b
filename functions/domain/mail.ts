/**
 * Mail the broker sends (contract section 11: the signup's confirmation link). The message is
 * what a use case decides; its RFC 5322 form is the adapters' (ports.ts `Mailer`): SES v2 in AWS,
 * an outbox of `.eml` files in local mode.
 */

/** A tenant's mail settings (seed `mail`, operating.md). */
export interface TenantMail {
  /** The sender; in AWS a verified SES identity the sending function may use. */
  from: string;
  /** The confirmation link; `{token}` is replaced by the URL-encoded token. */
  optInLink: string;
}

/** One message: a text and an HTML part of the same content. */
export interface OutgoingMail {
  from: string;
  to: string;
  subject: string;
  text: string;
  html: string;
}

/** How long a confirmation link is valid (contract section 11); the mail says so. */
const OPT_IN_HOURS = 24;

/**
 * The signup confirmation mail: `{token}` in the tenant's link template becomes the URL-encoded
 * token (every occurrence), and the HTML part carries the link HTML-escaped.
 */
export function optInMail(settings: TenantMail, to: string, token: string, tenant: string): OutgoingMail {
  const link = settings.optInLink.split('{token}').join(encodeURIComponent(token));
  const subject = `Confirm your e-mail address for ${tenant}`;
  const text = [
    'Hello,',
    '',
    `please confirm your e-mail address for ${tenant} by opening this link:`,
    '',
    link,
    '',
    `The link is valid for ${OPT_IN_HOURS} hours and works once. If you did not sign up, ignore this mail.`,
    '',
  ].join('\n');
  const html = [
    '<!DOCTYPE html>',
    `<html><head><meta charset="utf-8"><title>${escapeHtml(subject)}</title></head><body>`,
    '<p>Hello,</p>',
    `<p>please confirm your e-mail address for ${escapeHtml(tenant)} by opening this link:</p>`,
    `<p><a href="${escapeHtml(link)}">${escapeHtml(link)}</a></p>`,
    `<p>The link is valid for ${OPT_IN_HOURS} hours and works once. If you did not sign up, ignore this mail.</p>`,
    '</body></html>',
    '',
  ].join('\n');
  return { from: settings.from, to, subject, text, html };
}

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const CRLF = '\r\n';

/** An address as it may stand in a header: no line breaks, no angle brackets or commas, one `@`. */
const HEADER_ADDRESS = /^[^\s<>,;:"()\\@]+@[^\s<>,;:"()\\@]+$/;

/**
 * The mail as an RFC 5322 message (multipart/alternative, text then HTML, both UTF-8 in base64
 * lines of 76 characters): CRLF line ends, no line over 998 characters, ASCII only, so the outbox
 * and SES get the same bytes. The boundary comes from the message id (base64 never contains `=_`),
 * so the same input renders the same bytes. An address that could inject a header is refused.
 */
export function renderRfc5322(mail: OutgoingMail, options: { messageId: string; date: Date }): string {
  for (const [name, value] of [
    ['From', mail.from],
    ['To', mail.to],
  ] as const) {
    if (!HEADER_ADDRESS.test(value)) throw new Error(`mail: ${name} is not a plain address`);
  }
  if (!HEADER_ADDRESS.test(options.messageId)) throw new Error('mail: the message id is not id-left@id-right');
  const boundary = `=_tb_${Buffer.from(options.messageId).toString('hex').slice(0, 40)}`;
  const lines = [
    `From: ${mail.from}`,
    `To: ${mail.to}`,
    `Subject: ${encodeHeaderText(mail.subject)}`,
    `Date: ${rfc5322Date(options.date)}`,
    `Message-ID: <${options.messageId}>`,
    'MIME-Version: 1.0',
    `Content-Type: multipart/alternative; boundary="${boundary}"`,
    '',
    'This is a multi-part message in MIME format.',
    ...part(boundary, 'text/plain', mail.text),
    ...part(boundary, 'text/html', mail.html),
    `--${boundary}--`,
    '',
  ];
  return lines.join(CRLF);
}

function part(boundary: string, type: string, body: string): string[] {
  const encoded = Buffer.from(body.replace(/\r?\n/g, CRLF), 'utf8').toString('base64');
  const lines = encoded.match(/.{1,76}/g) ?? [''];
  return [`--${boundary}`, `Content-Type: ${type}; charset=UTF-8`, 'Content-Transfer-Encoding: base64', '', ...lines];
}

/** `Sun, 29 Nov 2026 07:52:01 +0000` (RFC 5322 section 3.3, a numeric zone). */
export function rfc5322Date(date: Date): string {
  return date.toUTCString().replace(/GMT$/, '+0000');
}

/**
 * A header's text: as it is when printable ASCII and short, else RFC 2047 encoded words (UTF-8,
 * base64) of at most 36 bytes each (a line stays under 78 characters), folded one per line, never splitting a character.
 */
export function encodeHeaderText(value: string): string {
  const flat = value.replace(/[\r\n]+/g, ' ');
  if (/^[\x20-\x7e]*$/.test(flat) && flat.length <= 900 && !flat.includes('=?')) return flat;
  const words: string[] = [];
  let chunk = '';
  for (const char of flat) {
    if (Buffer.byteLength(chunk + char, 'utf8') > 36) {
      words.push(chunk);
      chunk = '';
    }
    chunk += char;
  }
  if (chunk) words.push(chunk);
  return words.map((w) => `=?UTF-8?B?${Buffer.from(w, 'utf8').toString('base64')}?=`).join(`${CRLF} `);
}
