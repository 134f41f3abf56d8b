import { readFileSync } from 'node:fs';
import { App, Stack, type CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { FAIL_SYNTH_ON_VALIDATION_ERRORS_CONTEXT } from 'aws-cdk-lib/cx-api';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../lib/app.js';
import { grantSendMailFrom, mailIdentity } from '../../lib/constructs/mail-identity.js';
import { TokenBrokerStack } from '../../lib/token-broker-stack.js';

const cdkJson = JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as { context: Record<string, unknown> };

type Json = Record<string, any>;

/** Every IAM statement in the template that names an SES action. */
function sesStatements(template: Template): Json[] {
  const policies = Object.values(template.toJSON().Resources as Record<string, Json>).filter((r) => r.Type === 'AWS::IAM::Policy');
  return policies.flatMap((p) => p.Properties.PolicyDocument.Statement as Json[]).filter((s) => JSON.stringify(s.Action).includes('ses:'));
}

describe('mailFromIdentity', () => {
  it('lets the granted function send from the domain identity only, and cdk-nag stays clean', () => {
    const context = { ...cdkJson.context, [FAIL_SYNTH_ON_VALIDATION_ERRORS_CONTEXT]: false, mailFromIdentity: 'acme.example' };
    const { app, stack } = buildApp({ context });
    expect(stack.mailFromIdentity).toBe('acme.example');
    // The stack grants the signup function (and no other) this way.
    const template = Template.fromStack(stack);
    const statements = sesStatements(template);
    expect(statements).toHaveLength(1);
    const signupRole = stack.getLogicalId(stack.functions.signup.role!.node.defaultChild as CfnElement);
    const sesPolicies = Object.values(template.toJSON().Resources as Record<string, Json>).filter(
      (r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.PolicyDocument.Statement).includes('ses:'),
    );
    expect(sesPolicies.map((p) => p.Properties.Roles)).toEqual([[{ Ref: signupRole }]]);
    expect(statements[0]).toEqual({
      Sid: 'SendMailFromTheVerifiedIdentity',
      Effect: 'Allow',
      Action: 'ses:SendEmail',
      Resource: {
        'Fn::Join': [
          '',
          ['arn:', { Ref: 'AWS::Partition' }, ':ses:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':identity/acme.example'],
        ],
      },
      Condition: { StringLike: { 'ses:FromAddress': '*@acme.example' } },
    });
    expect(template.toJSON().Outputs.MailFromIdentityArn.Value['Fn::Join'][1]).toContain(':identity/acme.example');
    for (const pack of [new AwsSolutionsChecks(), new ServerlessChecks()]) {
      const report = pack.validateScope(app);
      expect(report.violations.map((v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
    }
  });

  it('pins ses:FromAddress to the address when the identity is one address', () => {
    const stack = new Stack(new App(), 'S', { env: { account: '123456789012', region: 'eu-central-1' } });
    const role = new Role(stack, 'R', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
    grantSendMailFrom(role, 'no-reply@acme.example');
    expect(sesStatements(Template.fromStack(stack))).toEqual([
      {
        Sid: 'SendMailFromTheVerifiedIdentity',
        Effect: 'Allow',
        Action: 'ses:SendEmail',
        Resource: {
          'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ses:eu-central-1:123456789012:identity/no-reply@acme.example']],
        },
        Condition: { StringEquals: { 'ses:FromAddress': 'no-reply@acme.example' } },
      },
    ]);
  });

  it('refuses an identity that is neither a domain nor an address, before anything is deployed', () => {
    for (const bad of ['', '*', 'acme', '*.acme.example', 'a@', 'x@acme', 'acme.example/', 'Acme <a@acme.example>']) {
      expect(() => mailIdentity(bad), bad).toThrow(/mailFromIdentity/);
    }
    expect(() => new TokenBrokerStack(new App(), 'S', { mailFromIdentity: 'acme' })).toThrow(/mailFromIdentity/);
    expect(mailIdentity('sub.acme.example')).toEqual({ identity: 'sub.acme.example', domain: 'sub.acme.example' });
  });
});
