import { randomBytes } from 'node:crypto';
import { chmod, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ServiceUnavailable } from '../../domain/errors.js';
import { type OutgoingMail, renderRfc5322 } from '../../domain/mail.js';
import type { Logger } from '../../log.js';
import type { Mailer } from '../../ports.js';

/**
 * A message's id: 64 random bits in hex. Short on purpose: the log's scrubber (log.ts) redacts
 * runs of 40+ token characters, and the file name it logs must stay readable.
 */
export function newMailId(): string {
  return randomBytes(8).toString('hex');
}

/** The Message-ID (without its angle brackets); the right-hand side: the sender's domain, else `localhost`. */
export function messageIdFor(mail: OutgoingMail, id: string = newMailId()): string {
  const domain = mail.from.split('@')[1];
  return `${id}@${domain && /^[A-Za-z0-9.-]+$/.test(domain) ? domain : 'localhost'}`;
}

/**
 * Local mode's mail (operating.md): one RFC 5322 `.eml` file per message in `dir`, named
 * `<ISO time>-<id>.eml` (colons made dashes, so the name is valid everywhere and sorts by time).
 * Written to a temporary name first and renamed, so a reader never sees half a message; the
 * directory is 0700 and the file 0600 (the mail holds a link that logs a customer in). The log
 * line names the file only: never the address's token, the link or the body. Times are made
 * strictly increasing, so within one process the names sort in the order the mails were sent.
 */
export function outboxMailer(dir: string, log: Logger, clock: () => Date = () => new Date()): Mailer {
  let last = 0;
  return {
    async send(mail) {
      const id = newMailId();
      last = Math.max(clock().getTime(), last + 1);
      const date = new Date(last);
      const messageId = messageIdFor(mail, id);
      const raw = renderRfc5322(mail, { messageId, date });
      const file = `${date.toISOString().replace(/:/g, '-')}-${id}.eml`;
      const temp = join(dir, `.${file}.tmp`);
      try {
        await mkdir(dir, { recursive: true, mode: 0o700 });
        await writeFile(temp, raw, { mode: 0o600, flag: 'wx' });
        // The mode given to writeFile is masked by the umask; make sure of 0600.
        await chmod(temp, 0o600);
        await rename(temp, join(dir, file));
      } catch (error) {
        await rm(temp, { force: true }).catch(() => {});
        throw new ServiceUnavailable('mail', error);
      }
      log.info('mail written', { file: join(dir, file) });
      return { messageId };
    },
  };
}
