import { RemovalPolicy, SecretValue, Validations } from 'aws-cdk-lib';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

/**
 * The broker's two secrets.
 *
 * - `clientSecrets`: `{ "<clientId>": "<secret>" }`. The stack creates it empty; the seed CLI
 *   writes the real map with PutSecretValue, which moves the old version to AWSPREVIOUS, and the
 *   functions accept both stages (that is how a client secret is rotated without downtime).
 * - `keys`: `{ "cacheKey": "..." }`, generated once by Secrets Manager; the key that seals
 *   cached service tokens at rest.
 */
export class BrokerSecrets extends Construct {
  readonly clientSecrets: Secret;
  readonly keys: Secret;

  constructor(scope: Construct, id: string) {
    super(scope, id);

    this.clientSecrets = new Secret(this, 'ClientSecrets', {
      description: 'token-broker: client id -> client secret (JSON); written by the seed CLI',
      // `{}` is no secret: it only makes the initial version valid JSON for the functions. A
      // secret value in the template would be visible to anyone who can read the stack.
      secretStringValue: SecretValue.unsafePlainText('{}'),
      // Removing the stack must not destroy the only copy of every client's credentials.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.clientSecrets).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Client secrets are rotated by applying the seed: PutSecretValue moves the old map to AWSPREVIOUS, ' +
        'which the broker keeps accepting until the next rotation. A rotation Lambda would invent secrets no client knows.',
    });

    this.keys = new Secret(this, 'Keys', {
      description: 'token-broker: key material (JSON with cacheKey)',
      generateSecretString: {
        secretStringTemplate: '{}',
        generateStringKey: 'cacheKey',
        passwordLength: 64,
        excludePunctuation: true,
      },
      // Kept with the retained table whose cached entries it seals; deleting key material is a
      // deliberate manual step, never a side effect of removing the stack.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.keys).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'The cache key only seals cached service tokens; rotating it (by hand) makes cached tokens unreadable, ' +
        'which costs one re-mint each and nothing else. Scheduled rotation adds no protection worth a rotation Lambda.',
    });
  }
}
