import { SendEmailCommand, type SESv2Client } from '@aws-sdk/client-sesv2';
import { ServiceUnavailable } from '../../domain/errors.js';
import { renderRfc5322 } from '../../domain/mail.js';
import type { Logger } from '../../log.js';
import type { Mailer } from '../../ports.js';
import { messageIdFor, newMailId } from './outbox.js';

/**
 * Mail in AWS (operating.md): Amazon SES v2 `SendEmail` with the raw RFC 5322 bytes (the same
 * renderRfc5322 output the outbox writes), from the tenant's `mail.from`, which the function's
 * role may use only when it is the stack's verified identity (lib/constructs/mail.ts). The
 * client's own bounded attempts (entry-points/aws-sources.ts) are the only retries; throttling or
 * any other failure is `ServiceUnavailable('mail')`, the API's 503. The log names the message id
 * and SES's id, never the address's token, the link or the body.
 */
export function sesMailer(client: SESv2Client, log: Logger, clock: () => Date = () => new Date()): Mailer {
  return {
    async send(mail) {
      const messageId = messageIdFor(mail, newMailId());
      const raw = renderRfc5322(mail, { messageId, date: clock() });
      try {
        const sent = await client.send(
          new SendEmailCommand({
            FromEmailAddress: mail.from,
            Destination: { ToAddresses: [mail.to] },
            Content: { Raw: { Data: Buffer.from(raw, 'ascii') } },
          }),
        );
        log.info('mail sent', { messageId, sesMessageId: sent.MessageId });
      } catch (error) {
        throw new ServiceUnavailable('mail', error);
      }
      return { messageId };
    },
  };
}
