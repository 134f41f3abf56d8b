import { mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { messageIdFor, outboxMailer } from '../../functions/adapters/mail/outbox.js';
import { ServiceUnavailable } from '../../functions/domain/errors.js';
import { optInMail, renderRfc5322 } from '../../functions/domain/mail.js';
import { jsonLogger } from '../../functions/log.js';
import { linkFromMail, parseEml } from '../support/eml.js';

const settings = { from: 'no-reply@acme.example', optInLink: 'https://shop.acme.example/confirm?token={token}' };
const token = 'Zk9_-abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWX';
const date = new Date('2026-11-29T07:52:01.123Z');

async function setup() {
  const root = await mkdtemp(join(tmpdir(), 'outbox-'));
  const dir = join(root, 'outbox');
  const lines: string[] = [];
  const mailer = outboxMailer(
    dir,
    jsonLogger((line) => lines.push(line)),
    () => date,
  );
  return { root, dir, lines, mailer };
}

describe('outboxMailer', () => {
  it('writes one .eml per message, named by time and id, that reads back with the link', async () => {
    const { dir, mailer } = await setup();
    const mail = optInMail(settings, 'ann@example.com', token, 'acme');
    const { messageId } = await mailer.send(mail);
    const files = await readdir(dir);
    expect(files).toHaveLength(1);
    const [file] = files as [string];
    const id = messageId.split('@')[0];
    expect(messageId).toMatch(/^[0-9a-f]{16}@acme\.example$/);
    expect(file).toBe(`2026-11-29T07-52-01.123Z-${id}.eml`);
    const raw = await readFile(join(dir, file), 'utf8');
    expect(raw).toBe(renderRfc5322(mail, { messageId, date }));
    expect(parseEml(raw).headers.to).toBe('ann@example.com');
    expect(linkFromMail(raw, 'https://shop.acme.example/')).toBe(`https://shop.acme.example/confirm?token=${token}`);
  });

  it('creates the directory 0700 and the file 0600, and leaves no temporary file', async () => {
    const { dir, mailer } = await setup();
    const previous = process.umask(0);
    try {
      await mailer.send(optInMail(settings, 'ann@example.com', token, 'acme'));
    } finally {
      process.umask(previous);
    }
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    const files = await readdir(dir);
    expect(files.filter((f) => !f.endsWith('.eml'))).toEqual([]);
    expect((await stat(join(dir, files[0] as string))).mode & 0o777).toBe(0o600);
  });

  it('writes messages sent in the same millisecond to files whose names sort in sending order', async () => {
    const { dir, mailer } = await setup();
    const sent: string[] = [];
    for (const to of ['a@example.com', 'b@example.com', 'c@example.com']) {
      await mailer.send(optInMail(settings, to, token, 'acme'));
      sent.push(to);
    }
    const files = (await readdir(dir)).sort();
    expect(files).toHaveLength(3);
    const order = await Promise.all(files.map(async (f) => parseEml(await readFile(join(dir, f), 'utf8')).headers.to));
    expect(order).toEqual(sent);
    expect(files[2]).toMatch(/^2026-11-29T07-52-01\.125Z-/);
  });

  it('logs one line naming the file, never the token, the link or the body', async () => {
    const { dir, lines, mailer } = await setup();
    await mailer.send(optInMail(settings, 'ann@example.com', token, 'acme'));
    expect(lines).toHaveLength(1);
    const [file] = (await readdir(dir)) as [string];
    expect(JSON.parse(lines[0] as string)).toEqual({ level: 'info', message: 'mail written', file: join(dir, file) });
    expect(lines[0]).not.toContain(token.slice(0, 20));
    expect(lines[0]).not.toContain('confirm');
  });

  it('answers ServiceUnavailable("mail") when the outbox cannot be written', async () => {
    const { root } = await setup();
    const blocker = join(root, 'not-a-dir');
    await writeFile(blocker, 'x');
    const mailer = outboxMailer(
      join(blocker, 'outbox'),
      jsonLogger(() => {}),
    );
    const error = await mailer.send(optInMail(settings, 'ann@example.com', token, 'acme')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceUnavailable);
    expect((error as ServiceUnavailable).dependency).toBe('mail');
  });

  it('names the message id after the sender domain, or localhost', () => {
    const mail = optInMail(settings, 'ann@example.com', token, 'acme');
    expect(messageIdFor(mail, 'x')).toBe('x@acme.example');
    expect(messageIdFor({ ...mail, from: 'odd' }, 'x')).toBe('x@localhost');
  });
});

describe('mailerPart', () => {
  it('without a mail source answers ServiceUnavailable("mail") rather than dropping the mail', async () => {
    const { mailerPart } = await import('../../functions/wiring.js');
    const { DEFAULTS } = await import('../../functions/config.js');
    const mailer = mailerPart(undefined, {
      clock: () => 0,
      log: jsonLogger(() => {}),
      serviceTokenReuseShare: 0.5,
      hold: DEFAULTS.localHold,
    });
    const error = await mailer.send(optInMail(settings, 'ann@example.com', token, 'acme')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceUnavailable);
    expect((error as ServiceUnavailable).dependency).toBe('mail');
  });
});
