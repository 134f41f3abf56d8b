import { z } from 'zod';
import { MAX_LENGTH } from '../domain/identifiers.js';
import { lineAndColumn, scanJson } from '../domain/json-scan.js';
import { isValidTenant } from '../domain/tenant.js';

/**
 * The seed file (shared/spec/operating.md): one JSON document for local mode and for a deployed
 * stack. Objects are strict, so a misspelt key is an error naming it rather than a silent default.
 */

const CLIENT_ID = /^[A-Za-z0-9._-]{1,64}$/;
/** RFC 6749 section 3.3 scope-token. */
const SCOPE = /^[\x21\x23-\x5B\x5D-\x7E]+$/;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

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

const serviceClient = z.strictObject({
  secret: z
    .string()
    .min(12, 'must be at least 12 characters')
    .max(MAX_LENGTH.clientSecret, `must be at most ${MAX_LENGTH.clientSecret} characters`),
  scopes: z
    .array(scope)
    .min(1)
    // The scopes joined are the service-token cache key, a DynamoDB sort key.
    .refine((scopes) => scopes.join(' ').length <= MAX_LENGTH.scope, `joined by spaces, must be at most ${MAX_LENGTH.scope} characters`),
  warmup: z.boolean().default(false),
  profile: z.enum(['emporix', 'oauth2']).default('emporix'),
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

const tenant = z.strictObject({
  settings: settings.default({}),
  storefrontClients: z.array(z.string().regex(CLIENT_ID, 'must be 1-64 of A-Z a-z 0-9 . _ -')).default([]),
  serviceClients: z.record(z.string().regex(CLIENT_ID, 'must be 1-64 of A-Z a-z 0-9 . _ -'), serviceClient).default({}),
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
    // Service clients authenticate without naming a tenant, so a client id names one client only.
    const owner = new Map<string, string>();
    for (const [tenantId, { serviceClients }] of Object.entries(seed.tenants)) {
      for (const clientId of Object.keys(serviceClients)) {
        const other = owner.get(clientId);
        if (other) {
          context.addIssue({
            code: 'custom',
            path: ['tenants', tenantId, 'serviceClients', clientId],
            message: `client id is already used by tenant ${other}`,
          });
        }
        owner.set(clientId, tenantId);
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
  const problems = result.error.issues.map((issue) => `  ${formatPath(issue.path)}: ${issue.message}`);
  throw new SeedError(`${source} is invalid:\n${problems.join('\n')}`);
}

function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(root)';
  return path.map((part, i) => (typeof part === 'number' ? `[${part}]` : `${i === 0 ? '' : '.'}${String(part)}`)).join('');
}
