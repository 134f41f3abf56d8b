/**
 * The identity providers' client secrets (issue 11): one JSON document, `{ "<tenant>": { "<provider
 * name>": "<secret>" } }`, in the Secrets Manager secret `IdentityProviderSecrets` (locally the
 * `identityProviderSecrets` section of the secrets file). Written by the seed, read only by the
 * function that calls the providers; never in the table. No rotation overlap: the provider, not
 * the broker, decides which of its client's secrets it accepts.
 */
export type ProviderSecretsDocument = Record<string, Record<string, string>>;

/**
 * Reads the document from JSON already parsed; a malformed entry is skipped (a provider without a
 * secret answers 503), a document that is not an object is an error naming `source`, never
 * quoting it.
 */
export function parseProviderSecretsDocument(json: unknown, source: string): ProviderSecretsDocument {
  if (json === undefined) return {};
  if (!isRecord(json)) throw new Error(`${source}: the identity provider secrets are not a JSON object`);
  const document: ProviderSecretsDocument = {};
  for (const [tenant, providers] of Object.entries(json)) {
    if (!isRecord(providers)) continue;
    const entries: Record<string, string> = {};
    for (const [name, secret] of Object.entries(providers)) {
      if (typeof secret === 'string' && secret !== '') define(entries, name, secret);
    }
    define(document, tenant, entries);
  }
  return document;
}

/** The secret of a tenant's provider; own properties only (a name is data, not a path into Object.prototype). */
export function providerSecretOf(document: ProviderSecretsDocument, tenant: string, name: string): string | undefined {
  if (!Object.hasOwn(document, tenant)) return undefined;
  const providers = document[tenant]!;
  return Object.hasOwn(providers, name) ? providers[name] : undefined;
}

/** Whether two documents hold the same secrets (the seed writes a new version only on a change). */
export function sameProviderSecrets(a: ProviderSecretsDocument, b: ProviderSecretsDocument): boolean {
  const flat = (document: ProviderSecretsDocument) =>
    Object.entries(document)
      .flatMap(([tenant, providers]) => Object.entries(providers).map(([name, secret]) => JSON.stringify([tenant, name, secret])))
      .sort()
      .join('\n');
  return flat(a) === flat(b);
}

/** Sets an own, enumerable property even for a key such as `__proto__`. */
export function define<T>(target: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
