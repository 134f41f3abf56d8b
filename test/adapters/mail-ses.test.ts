import { SendEmailCommand, SESv2Client, TooManyRequestsException } from '@aws-sdk/client-sesv2';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { sesMailer } from '../../functions/adapters/mail/ses.js';
import { ServiceUnavailable } from '../../functions/domain/errors.js';
import { optInMail, renderRfc5322 } from '../../functions/domain/mail.js';
import { jsonLogger } from '../../functions/log.js';
import { linkFromMail } from '../support/eml.js';

const ses = mockClient(SESv2Client);
afterEach(() => ses.reset());

const settings = { from: 'no-reply@acme.example', optInLink: 'https://shop.acme.example/confirm?token={token}' };
const token = 'Zk9_-abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWX';
const date = new Date('2026-11-29T07:52:01.000Z');
const mail = optInMail(settings, 'ann@example.com', token, 'acme');

function mailer(lines: string[] = []) {
  return sesMailer(
    new SESv2Client({ region: 'eu-central-1' }),
    jsonLogger((l) => lines.push(l)),
    () => date,
  );
}

describe('sesMailer', () => {
  it('sends one SendEmail with the raw message, from mail.from to mail.to', async () => {
    ses.on(SendEmailCommand).resolves({ MessageId: 'ses-1' });
    const { messageId } = await mailer().send(mail);
    const calls = ses.commandCalls(SendEmailCommand);
    expect(calls).toHaveLength(1);
    const input = calls[0]!.args[0].input;
    expect(Object.keys(input).sort()).toEqual(['Content', 'Destination', 'FromEmailAddress']);
    expect(input.FromEmailAddress).toBe('no-reply@acme.example');
    expect(input.Destination).toEqual({ ToAddresses: ['ann@example.com'] });
    expect(Object.keys(input.Content ?? {})).toEqual(['Raw']);
    const bytes = Buffer.from(input.Content?.Raw?.Data ?? new Uint8Array());
    // The very bytes the outbox writes for the same message, id and date.
    expect(bytes.equals(Buffer.from(renderRfc5322(mail, { messageId, date }), 'ascii'))).toBe(true);
    expect(linkFromMail(bytes.toString('ascii'), 'https://shop.acme.example/')).toContain(token);
  });

  it('answers ServiceUnavailable("mail") when SES throttles, without retrying on its own', async () => {
    ses.on(SendEmailCommand).rejects(new TooManyRequestsException({ message: 'Too many requests', $metadata: {} }));
    const error = await mailer()
      .send(mail)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceUnavailable);
    expect((error as ServiceUnavailable).dependency).toBe('mail');
    expect((error as ServiceUnavailable).cause).toBeInstanceOf(TooManyRequestsException);
    expect(ses.commandCalls(SendEmailCommand)).toHaveLength(1);
  });

  it('answers ServiceUnavailable("mail") for any other failure, e.g. an unverified identity', async () => {
    ses.on(SendEmailCommand).rejects(new Error('Email address is not verified'));
    await expect(mailer().send(mail)).rejects.toBeInstanceOf(ServiceUnavailable);
  });

  it('logs the message ids only, never the token, the link or the body', async () => {
    ses.on(SendEmailCommand).resolves({ MessageId: 'ses-1' });
    const lines: string[] = [];
    const { messageId } = await mailer(lines).send(mail);
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toEqual({ level: 'info', message: 'mail sent', messageId, sesMessageId: 'ses-1' });
    expect(lines[0]).not.toContain(token.slice(0, 20));
  });
});
