/**
 * Structured JSON logging. Callers pass fields, never raw request data; as a second line of
 * defence every string is scrubbed of anything shaped like a token or a credential.
 *
 * In Lambda a line is written straight to stdout, not through `console`: with the JSON log format
 * the runtime would wrap a console line in its own object (timestamp, level, request id, and the
 * line again as an escaped string), about doubling every line. Lambda reads the `level` of a JSON
 * line written to stdout and filters by the function's application log level; lines below the
 * level are dropped here already, so they cost neither the formatting nor the bytes.
 */

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';

const RANK: Record<LogLevel, number> = { trace: 1, debug: 2, info: 3, warn: 4, error: 5, fatal: 6 };

export interface Logger {
  /** The lowest level written; lines below it are dropped. */
  readonly level: LogLevel;
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  /** A line already formatted (the metrics' EMF documents, metrics.ts): written as it is, at any level. */
  line(text: string): void;
}

/**
 * A level name as Lambda's logging config sets it (`AWS_LAMBDA_LOG_LEVEL`: TRACE, DEBUG, INFO,
 * WARN, ERROR, FATAL; any case); `info` when absent or unknown.
 */
export function logLevelOf(name: string | undefined): LogLevel {
  const level = name?.toLowerCase();
  return level !== undefined && level in RANK ? (level as LogLevel) : 'info';
}

/** Read once, at cold start: Lambda sets it from the function's logging config (the stack's `applicationLogLevel`). */
export const APPLICATION_LOG_LEVEL: LogLevel = logLevelOf(process.env.AWS_LAMBDA_LOG_LEVEL);

/** The level a line that must survive Lambda's filter carries: the level in force, and at least `info`. */
export function unfilteredLevel(level: LogLevel): LogLevel {
  return RANK[level] > RANK.info ? level : 'info';
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

/** One line to stdout, synchronously on Linux (a pipe), so nothing is lost when Lambda freezes the instance. */
export function stdoutLine(line: string): void {
  process.stdout.write(`${line}\n`);
}

const ignore = () => {};

export function jsonLogger(write: (line: string) => void = stdoutLine, level: LogLevel = APPLICATION_LOG_LEVEL): Logger {
  const at = (name: LogLevel) =>
    RANK[name] < RANK[level]
      ? ignore
      : (message: string, fields?: Record<string, unknown>) =>
          write(JSON.stringify({ level: name, message: scrub(message), ...(scrubValue(fields ?? {}) as object) }));
  return { level, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), line: write };
}

export const silentLogger: Logger = { level: 'fatal', debug() {}, info() {}, warn() {}, error() {}, line() {} };
