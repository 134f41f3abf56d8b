import { RemovalPolicy, SecretValue, Validations } from 'aws-cdk-lib';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

/**
 * The broker's three secrets.
 *
 * - `clientSecrets`: per client `{ "current", "previous"?, "previousUntil"? }` (README "Client
 *   secrets and rotation"). The stack creates it empty; the seed CLI writes new versions with
 *   PutSecretValue. The functions read only AWSCURRENT: a rotation's previous secret and the end
 *   of its overlap are inside that version, so a client secret is rotated without downtime and
 *   the old one stops working when the overlap ends.
 * - `keys`: `{ "cacheKey": "..." }`, generated once by Secrets Manager; the key that seals
 *   cached service tokens at rest.
 * - `signingKeys`: `{ "keys": [...] }`, the private ES256 key that signs customer saas_tokens and
 *   JWT access tokens (read by the storefront, oauth and warm-up functions).
 *   The stack creates it empty; the seed CLI generates the key (and publishes its public half).
 * - `identityProviderSecrets`: `{ "<tenant>": { "<provider name>": "<client secret>" } }`, the
 *   client secrets of the tenants' external identity providers (issue 11), written by the seed
 *   CLI and read only by the function that calls the providers.
 */
export class BrokerSecrets extends Construct {
  readonly clientSecrets: Secret;
  readonly keys: Secret;
  readonly signingKeys: Secret;
  readonly identityProviderSecrets: Secret;

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
        'Client secrets are rotated by applying the seed: the new version keeps the old secret as previous, ' +
        "accepted until the tenant's overlap ends. A rotation Lambda would invent secrets no client knows.",
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

    this.signingKeys = new Secret(this, 'SigningKeys', {
      description: 'token-broker: private ES256 signing keys for saas_token (JSON); written by the seed CLI',
      // An empty key list, no secret: the seed CLI generates the key pair outside the template.
      secretStringValue: SecretValue.unsafePlainText('{"keys":[]}'),
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.signingKeys).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'The signing key is rotated with `npm run seed -- <seed> --stack <name> --rotate-signing-key`, which first ' +
        'publishes the new public key and keeps the old one in the JWKS until its tokens expire; a rotation Lambda ' +
        'would have to repeat that ordering.',
    });

    this.identityProviderSecrets = new Secret(this, 'IdentityProviderSecrets', {
      description: 'token-broker: tenant -> identity provider name -> client secret (JSON); written by the seed CLI',
      // `{}` is no secret; the seed CLI writes the providers' secrets outside the template.
      secretStringValue: SecretValue.unsafePlainText('{}'),
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.identityProviderSecrets).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        "These are the broker's client secrets at external identity providers, issued by those providers: they are " +
        'rotated there and the new value applied with the seed; a rotation Lambda cannot make a provider accept a new secret.',
    });
  }
}
