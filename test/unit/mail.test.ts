import { describe, expect, it } from 'vitest';
import { encodeHeaderText, escapeHtml, optInMail, renderRfc5322 } from '../../functions/domain/mail.js';
import { linkFromMail, parseEml } from '../support/eml.js';

const settings = { from: 'no-reply@acme.example', optInLink: 'https://shop.acme.example/confirm?token={token}' };
const date = new Date('2026-11-29T07:52:01.000Z');
const messageId = '0f6b1c2a-3d4e-4f50-8a9b-0c1d2e3f4a5b@acme.example';

describe('optInMail', () => {
  it('puts the URL-encoded token into the tenant link, in both parts, HTML-escaped in the HTML', () => {
    const mail = optInMail(settings, 'ann@example.com', 'a+b/c&d"<x>', 'acme');
    const link = 'https://shop.acme.example/confirm?token=a%2Bb%2Fc%26d%22%3Cx%3E';
    expect(mail.from).toBe('no-reply@acme.example');
    expect(mail.to).toBe('ann@example.com');
    expect(mail.subject).toContain('acme');
    expect(mail.text).toContain(`\n${link}\n`);
    expect(mail.html).toContain(`<a href="${link}">`);
    expect(mail.text).toContain('24 hours');
  });

  it('escapes markup in the link template and replaces every {token}', () => {
    const mail = optInMail(
      { from: settings.from, optInLink: 'https://x.example/c?t={token}&again={token}&q="<b>"' },
      'ann@example.com',
      'tok',
      'acme',
    );
    expect(mail.text).toContain('https://x.example/c?t=tok&again=tok&q="<b>"');
    expect(mail.html).toContain('href="https://x.example/c?t=tok&#38;again=tok&#38;q=&#34;&#60;b&#62;&#34;"');
    expect(mail.html).not.toContain('<b>');
  });

  it('escapes the five HTML metacharacters', () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe('&#60;a href=&#34;x&#34; title=&#39;y&#39;&#62;&#38;&#60;/a&#62;');
  });
});

describe('renderRfc5322', () => {
  const token = 'Zk9_-abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ+/';
  const mail = optInMail(settings, 'ann@example.com', token, 'acme');
  const raw = renderRfc5322(mail, { messageId, date });

  it('ends every line in CRLF, keeps lines at most 998 characters (body lines 76), and is ASCII only', () => {
    expect(raw.endsWith('\r\n')).toBe(true);
    expect(raw).not.toMatch(/[^\r]\n/);
    expect(raw).not.toMatch(/\r(?!\n)/);
    const lines = raw.split('\r\n');
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(998);
    const bodyLines = lines.slice(lines.indexOf('') + 1).filter((l) => /^[A-Za-z0-9+/=]+$/.test(l));
    expect(bodyLines.length).toBeGreaterThan(4);
    for (const line of bodyLines) expect(line.length).toBeLessThanOrEqual(76);
    expect(raw).toMatch(/^[\x20-\x7e\r\n]*$/);
  });

  it('has the headers From, To, Subject, Date, Message-ID, MIME-Version and a multipart/alternative type', () => {
    const { headers } = parseEml(raw);
    expect(headers.from).toBe('no-reply@acme.example');
    expect(headers.to).toBe('ann@example.com');
    expect(headers.subject).toBe(mail.subject);
    expect(headers.date).toBe('Sun, 29 Nov 2026 07:52:01 +0000');
    expect(headers['message-id']).toBe(`<${messageId}>`);
    expect(headers['mime-version']).toBe('1.0');
    expect(headers['content-type']).toMatch(/^multipart\/alternative; boundary="=_tb_[0-9a-f]+"$/);
  });

  it('parses back to a text and an HTML part, both carrying the link with the encoded token', () => {
    const { parts } = parseEml(raw);
    expect(parts.map((p) => p.contentType)).toEqual(['text/plain; charset=UTF-8', 'text/html; charset=UTF-8']);
    const link = `https://shop.acme.example/confirm?token=${encodeURIComponent(token)}`;
    expect(link).toContain('%2B');
    expect(parts[0]?.body).toBe(mail.text.replace(/\n/g, '\r\n'));
    expect(parts[0]?.body).toContain(link);
    expect(parts[1]?.body).toContain(`href="${link}"`);
    expect(linkFromMail(raw, 'https://shop.acme.example/')).toBe(link);
    expect(decodeURIComponent(new URL(link).searchParams.get('token') ?? '')).toBe(token);
  });

  it('renders the same bytes for the same input, and a different boundary for another message id', () => {
    expect(renderRfc5322(mail, { messageId, date })).toBe(raw);
    const other = renderRfc5322(mail, { messageId: `x${messageId}`, date });
    expect(parseEml(other).headers['content-type']).not.toBe(parseEml(raw).headers['content-type']);
  });

  it('refuses an address or a message id that could inject a header', () => {
    expect(() => renderRfc5322({ ...mail, to: 'ann@example.com\r\nBcc: eve@example.com' }, { messageId, date })).toThrow(/To/);
    expect(() => renderRfc5322({ ...mail, from: 'Eve <eve@example.com>' }, { messageId, date })).toThrow(/From/);
    expect(() => renderRfc5322(mail, { messageId: 'a>\r\nX: y@z', date })).toThrow(/message id/);
  });

  it('encodes a non-ASCII or long subject as folded RFC 2047 words, and a line break cannot start a header', () => {
    const subject = `Bestätigen Sie Ihre E-Mail-Adresse – ${'ü'.repeat(40)}`;
    const rendered = renderRfc5322({ ...mail, subject }, { messageId, date });
    expect(parseEml(rendered).headers.subject).toBe(subject);
    const head = rendered.slice(0, rendered.indexOf('\r\n\r\n')).split('\r\n');
    expect(head.filter((l) => l.startsWith(' =?UTF-8?B?')).length).toBeGreaterThan(1);
    for (const line of head.slice(0, 4)) expect(line.length).toBeLessThanOrEqual(78);
    expect(encodeHeaderText('Hi\r\nBcc: eve@example.com')).toBe('Hi Bcc: eve@example.com');
    expect(encodeHeaderText('plain')).toBe('plain');
    expect(encodeHeaderText('has =?x?= inside')).toMatch(/^=\?UTF-8\?B\?/);
  });

  it('keeps non-ASCII bodies intact through base64', () => {
    const rendered = renderRfc5322({ ...mail, text: 'Grüße\n', html: '<p>Grüße</p>' }, { messageId, date });
    const { parts } = parseEml(rendered);
    expect(parts[0]?.body).toBe('Grüße\r\n');
    expect(parts[1]?.body).toBe('<p>Grüße</p>');
  });
});
