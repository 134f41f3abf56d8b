import { z } from 'zod';
import { MAX_LENGTH } from '../domain/identifiers.js';
import { lineAndColumn, scanJson } from '../domain/json-scan.js';
import { isValidTenant } from '../domain/tenant.js';
import { audienceProblem, issuerProblem, optInLinkProblem, providerRedirectUriProblem, redirectUriProblem } from './uris.js';

/**
 * The seed file (shared/spec/operating.md): one JSON document for local mode and for a deployed
 * stack. Objects are strict, so a misspelt key is an error naming it rather than a silent default.
 */

const CLIENT_ID = /^[A-Za-z0-9._-]{1,64}$/;
/** RFC 6749 section 3.3 scope-token. */
const SCOPE = /^[\x21\x23-\x5B\x5D-\x7E]+$/;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
const MAX_REDIRECT_URIS = 32;

const lifetime = z
  .number()
  .int()
  .positive()
  .max(366 * 24 * 3600);

const settings = z.strictObject({
  refreshGraceSeconds: z.number().int().min(0).max(300).optional(),
  legacyTokenFieldsUntil: z
    .string()
    .regex(ISO_DATE, 'must be a date YYYY-MM-DD')
    .refine((value) => !Number.isNaN(Date.parse(`${value}T00:00:00Z`)), 'must be a real date')
    .optional(),
  lifetimes: z
    .strictObject({
      anonymousAccess: lifetime.optional(),
      anonymousRefresh: lifetime.optional(),
      customerAccess: lifetime.optional(),
      customerRefresh: lifetime.optional(),
      serviceAccess: lifetime.optional(),
      // The authorization_code and refresh_token grants (contract section 5).
      grantAccess: lifetime.optional(),
      grantRefresh: lifetime.optional(),
      anonymousSessionMax: lifetime.optional(),
      customerSessionMax: lifetime.optional(),
    })
    .optional(),
  secretRotationOverlapSeconds: z
    .number()
    .int()
    .min(0)
    .max(366 * 24 * 3600)
    .optional(),
});

const scope = z
  .string()
  .regex(SCOPE, 'must be an RFC 6749 scope token')
  .max(MAX_LENGTH.scopeToken, `must be at most ${MAX_LENGTH.scopeToken} characters`)
  // The broker adds `tenant=T` to every token itself; a seeded one would name another tenant.
  .refine((value) => !value.startsWith('tenant='), 'must not start with tenant= (the broker adds the tenant itself)');

const clientId = z.string().regex(CLIENT_ID, 'must be 1-64 of A-Z a-z 0-9 . _ -');

const clientSecret = z
  .string()
  .min(12, 'must be at least 12 characters')
  .max(MAX_LENGTH.clientSecret, `must be at most ${MAX_LENGTH.clientSecret} characters`);

const scopes = z
  .array(scope)
  // The scopes joined are the service-token cache key, a DynamoDB sort key.
  .refine((scopes) => scopes.join(' ').length <= MAX_LENGTH.scope, `joined by spaces, must be at most ${MAX_LENGTH.scope} characters`);

/** Contract section 9: opaque access tokens unless the client asks for RFC 9068 JWTs. */
const accessTokenFormat = z.enum(['opaque', 'jwt']).default('opaque');

/** A string checked by one of the URI rules of seed/uris.ts, which name the problem. */
const uri = (max: number, problem: (value: string) => string | undefined) =>
  z
    .string()
    .max(max, `must be at most ${max} characters`)
    .superRefine((value, context) => {
      const message = problem(value);
      if (message) context.addIssue({ code: 'custom', message });
    });

/** The `aud` of the client's JWT access tokens; the issuer when absent (contract section 9). */
const audience = uri(MAX_LENGTH.audience, audienceProblem).optional();

const serviceClient = z.strictObject({
  secret: clientSecret,
  scopes: scopes.refine((scopes) => scopes.length > 0, 'must name at least one scope'),
  warmup: z.boolean().default(false),
  profile: z.enum(['emporix', 'oauth2']).default('emporix'),
  accessTokenFormat,
  audience,
});

/**
 * An app that signs customers in through the browser (contract section 8). A public client (a
 * mobile or single-page app) cannot keep a secret, so PKCE is its only proof and a secret in the
 * seed would be a mistake; a confidential one (a partner's server) authenticates with its secret
 * as a service client does.
 */
const appClient = z
  .strictObject({
    type: z.enum(['public', 'confidential']),
    secret: clientSecret.optional(),
    redirectUris: z
      .array(uri(MAX_LENGTH.redirectUri, redirectUriProblem))
      .min(1, 'must name at least one redirect URI')
      // Every one is kept in the client's directory item (DynamoDB: at most 400 KB) and compared per request.
      .max(MAX_REDIRECT_URIS, `must name at most ${MAX_REDIRECT_URIS} redirect URIs`),
    scopes: scopes.default([]),
    accessTokenFormat,
    audience,
  })
  .superRefine((client, context) => {
    if (client.type === 'public' && client.secret !== undefined) {
      context.addIssue({
        code: 'custom',
        path: ['secret'],
        message: 'a public client has no secret (PKCE is its proof): remove it, or make the client confidential',
      });
    }
    if (client.type === 'confidential' && client.secret === undefined) {
      context.addIssue({ code: 'custom', path: ['secret'], message: 'is required for a confidential client' });
    }
  });

/** An identity provider's name: the `config` parameter of socialLogin and exchangeauthtoken. */
const PROVIDER_NAME = /^[A-Za-z0-9._-]{1,64}$/;
/** Printable ASCII without spaces: a provider's client id, audience or authorized party. */
const PRINTABLE = /^[\x21-\x7E]+$/;
/** Issuers are compared with a token's `iss` exactly and fetched from; longer ones are mistakes. */
const MAX_ISSUER = 512;
/** OpenID Connect Core section 2: `sub` and client ids are at most 255 ASCII characters. */
const MAX_PROVIDER_ID = 255;

const providerValue = (what: string) =>
  z
    .string()
    .regex(PRINTABLE, `must be printable ASCII without spaces (the provider's ${what})`)
    .max(MAX_PROVIDER_ID, `must be at most ${MAX_PROVIDER_ID} characters`);

/**
 * An external OpenID Connect provider the tenant trusts (contract section 10, operating.md). The
 * secret goes to the provider secrets (Secrets Manager or the local secrets file), the rest to
 * the tenant's directory item.
 */
const identityProvider = z.strictObject({
  issuer: uri(MAX_ISSUER, issuerProblem),
  clientId: providerValue('client id'),
  clientSecret,
  redirectUri: uri(MAX_LENGTH.redirectUri, providerRedirectUriProblem),
  customerIdentifier: z.enum(['EMAIL', 'SUBJECT']).default('EMAIL'),
  autoProvision: z.boolean().default(false),
  audience: providerValue('audience').max(MAX_LENGTH.audience, `must be at most ${MAX_LENGTH.audience} characters`).optional(),
  authorizedParty: providerValue('client id').optional(),
  validation: z.enum(['jwks', 'introspection']).default('jwks'),
});

/**
 * The tenant's signup mail (contract section 11, operating.md): the sender (in AWS a verified SES
 * identity) and the confirmation link template. Kept in the tenant's directory item.
 */
const mail = z.strictObject({
  from: z.email().max(MAX_LENGTH.email, `must be at most ${MAX_LENGTH.email} characters`),
  optInLink: uri(MAX_LENGTH.redirectUri, optInLinkProblem),
});

const customer = z.strictObject({
  email: z.email().max(MAX_LENGTH.email, `must be at most ${MAX_LENGTH.email} characters`),
  password: z.string().min(6, 'must be at least 6 characters'),
  customerNumber: z.string().min(1).max(MAX_LENGTH.customerNumber, `must be at most ${MAX_LENGTH.customerNumber} characters`),
  legalEntities: z
    .array(z.string().min(1).max(MAX_LENGTH.legalEntityId, `must be at most ${MAX_LENGTH.legalEntityId} characters`))
    .default([])
    // Two equal entries make every login of the customer fail; name the repeated one.
    .superRefine((entities, context) => {
      entities.forEach((entity, index) => {
        if (entities.indexOf(entity) !== index) {
          context.addIssue({ code: 'custom', path: [index], message: `legal entity ${entity} is listed twice` });
        }
      });
    }),
  initialPassword: z.boolean().default(false),
});

/**
 * A record of named entries. JSON.parse keeps a `__proto__` member, but a zod record would drop
 * it without a word (assigning it sets the prototype): such a name is refused, naming what it is.
 */
function namedRecord<V extends z.ZodType>(what: string, key: z.ZodType<string>, value: V) {
  return z.preprocess(
    (input, context) => {
      if (typeof input === 'object' && input !== null && Object.hasOwn(input, '__proto__')) {
        context.issues.push({ code: 'custom', message: `a ${what} may not be named __proto__`, input });
      }
      return input ?? {};
    },
    z.record(key, value),
  );
}

const tenant = z.strictObject({
  settings: settings.default({}),
  storefrontClients: z.array(clientId).default([]),
  serviceClients: namedRecord('client', clientId, serviceClient),
  appClients: namedRecord('client', clientId, appClient),
  identityProviders: namedRecord('provider', z.string().regex(PROVIDER_NAME, 'must be 1-64 of A-Z a-z 0-9 . _ -'), identityProvider),
  mail: mail.optional(),
  customers: z
    .array(customer)
    .default([])
    // Emails are stored trimmed and lower-cased (seed/apply.ts), so Ann@x and ann@x are one customer.
    .superRefine((customers, context) => {
      const first = new Map<string, number>();
      customers.forEach((entry, index) => {
        const email = entry.email.trim().toLowerCase();
        const earlier = first.get(email);
        if (earlier === undefined) first.set(email, index);
        else
          context.addIssue({
            code: 'custom',
            path: [index, 'email'],
            message: `same email as customers[${earlier}] (emails are case-insensitive)`,
          });
      });
    }),
});

export const seedSchema = z
  .strictObject({
    tenants: z.record(z.string().refine(isValidTenant, 'tenant must match ^[a-z][a-z0-9]+$ and be 3 to 16 characters'), tenant),
  })
  .superRefine((seed, context) => {
    // Service and app clients authenticate (or start a flow) without naming a tenant, and the
    // client secrets, the directory lookups and the incident CLI find a client by its id alone:
    // a client id names one client of one kind in one tenant.
    const owner = new Map<string, { tenant: string; kind: string }>();
    for (const [tenantId, spec] of Object.entries(seed.tenants)) {
      const clients = [
        ...Object.keys(spec.serviceClients).map((id) => ({ id, field: 'serviceClients', kind: 'service client' })),
        ...Object.keys(spec.appClients).map((id) => ({ id, field: 'appClients', kind: 'app client' })),
      ];
      for (const { id, field, kind } of clients) {
        const other = owner.get(id);
        if (other) {
          context.addIssue({
            code: 'custom',
            path: ['tenants', tenantId, field, id],
            message: `client id is already used by tenant ${other.tenant} (${other.kind})`,
          });
        } else owner.set(id, { tenant: tenantId, kind });
      }
    }
  });

export type Seed = z.infer<typeof seedSchema>;

export class SeedError extends Error {
  override readonly name = 'SeedError';
}

/**
 * Parses and validates a seed; the error names every offending field by its path. A syntax error
 * or a repeated member is located by line and column and never quoted: the file holds secrets,
 * and JSON.parse's own message would print a piece of it.
 */
export function parseSeed(text: string, source = 'seed'): Seed {
  const scan = scanJson(text);
  if (!scan.ok) {
    const { line, column } = lineAndColumn(text, scan.offset);
    throw new SeedError(`${source}: not valid JSON at line ${line}, column ${column} (${scan.reason})`);
  }
  if (scan.duplicate) {
    // JSON.parse would keep the last of the two silently (a tenant or client defined twice).
    const { line, column } = lineAndColumn(text, scan.duplicate.offset);
    throw new SeedError(`${source}: a member name is repeated in its object at line ${line}, column ${column}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new SeedError(`${source}: not valid JSON`);
  }
  const result = seedSchema.safeParse(json);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `  ${formatPath(issue.path)}: ${messageOf(issue)}`);
  throw new SeedError(`${source} is invalid:\n${problems.join('\n')}`);
}

/** A record key's own rule says what is wrong with it (zod alone says only "Invalid key in record"). */
function messageOf(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_key' && issue.issues.length > 0) return issue.issues.map((inner) => inner.message).join('; ');
  return issue.message;
}

function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(root)';
  return path.map((part, i) => (typeof part === 'number' ? `[${part}]` : `${i === 0 ? '' : '.'}${String(part)}`)).join('');
}
