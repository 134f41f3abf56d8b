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
