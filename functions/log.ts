/**
 * Structured JSON logging. Callers pass fields, never raw request data; as a second line of
 * defence every string is scrubbed of anything shaped like a token or a credential.
 */

export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/**
 * Basic/Bearer credentials, JWTs, and base64url runs of 40+ characters (our tokens are 64). A
 * UUID request id (36 characters with dashes) stays readable.
 */
const SECRET_SHAPED = /(Basic|Bearer)\s+\S+|eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*|[A-Za-z0-9_-]{40,}/g;

export function scrub(text: string): string {
  return text.replace(SECRET_SHAPED, '[redacted]');
}

function scrubValue(value: unknown): unknown {
  if (typeof value === 'string') return scrub(value);
  if (value instanceof Error) return { name: value.name, message: scrub(value.message) };
  if (Array.isArray(value)) return value.map(scrubValue);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrubValue(v)]));
  }
  return value;
}

export function jsonLogger(write: (line: string) => void = (line) => console.log(line)): Logger {
  const emit = (level: string, message: string, fields?: Record<string, unknown>) =>
    write(JSON.stringify({ level, message: scrub(message), ...(scrubValue(fields ?? {}) as object) }));
  return {
    info: (message, fields) => emit('info', message, fields),
    warn: (message, fields) => emit('warn', message, fields),
    error: (message, fields) => emit('error', message, fields),
  };
}

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };
