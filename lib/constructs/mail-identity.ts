import { Arn, Stack } from 'aws-cdk-lib';
import { Effect, type IGrantable, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';

/**
 * The verified SES identity the broker sends mail from (operating.md "On AWS"): a domain
 * (`acme.example`, any address at it) or one address (`no-reply@acme.example`). Verifying it is
 * done in SES, outside this stack; a tenant's `mail.from` must be that address or at that domain.
 */
const DOMAIN = /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$/;
const ADDRESS = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@(.+)$/;

/** The identity, checked (a typo would deploy a policy that lets nothing through). */
export function mailIdentity(identity: string): { identity: string; domain: string; address?: string } {
  const address = ADDRESS.exec(identity);
  const domain = address ? address[1]! : identity;
  if (!DOMAIN.test(domain)) throw new Error(`mailFromIdentity must be a domain or an email address, not ${JSON.stringify(identity)}`);
  return address ? { identity, domain, address: identity } : { identity, domain };
}

/** `arn:<partition>:ses:<region>:<account>:identity/<identity>`, in the scope's stack. */
export function mailIdentityArn(scope: IConstruct, identity: string): string {
  return Arn.format({ service: 'ses', resource: 'identity', resourceName: mailIdentity(identity).identity }, Stack.of(scope));
}

/**
 * Lets `grantee` (the function that sends the signup mail) send through SES v2 from `identity`
 * only: `ses:SendEmail` (SES v2's SendEmail, raw content included) on that identity's ARN, with
 * `ses:FromAddress` pinned to the address, or to addresses at the domain. Nothing else in SES.
 */
export function grantSendMailFrom(grantee: IGrantable & IConstruct, identity: string): void {
  const { domain, address } = mailIdentity(identity);
  grantee.grantPrincipal.addToPrincipalPolicy(
    new PolicyStatement({
      sid: 'SendMailFromTheVerifiedIdentity',
      effect: Effect.ALLOW,
      actions: ['ses:SendEmail'],
      resources: [mailIdentityArn(grantee, identity)],
      conditions: address ? { StringEquals: { 'ses:FromAddress': address } } : { StringLike: { 'ses:FromAddress': `*@${domain}` } },
    }),
  );
}
