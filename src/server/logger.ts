/** The levels a Switchboard logger is called at, most severe first. */
export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Where the server reports faults and connection events, message first and fields second.
 * `console` satisfies it as is; pino takes its fields first, so wrap it once with {@link fromPino}.
 * `debug` is optional so loggers written for the earlier three-level shape keep working: without it
 * debug events (closes by the peer) are skipped.
 */
export interface Logger {
  error(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  debug?(message: string, fields?: Record<string, unknown>): void;
}

/** The part of a pino logger (or any logger taking `(fields, message)`) that {@link fromPino} calls. */
export interface FieldsFirstLogger {
  error(fields: object, message?: string): void;
  warn(fields: object, message?: string): void;
  info(fields: object, message?: string): void;
  debug(fields: object, message?: string): void;
}

/**
 * Adapts pino (`logger.info({ connectionId }, 'closed')`) to {@link Logger}: `logger: fromPino(pino())`.
 * Pino given `(message, fields)` would read the fields as printf arguments and drop them.
 */
export function fromPino(target: FieldsFirstLogger): Required<Logger> {
  return {
    error: (message, fields) => target.error(fields ?? {}, message),
    warn: (message, fields) => target.warn(fields ?? {}, message),
    info: (message, fields) => target.info(fields ?? {}, message),
    debug: (message, fields) => target.debug(fields ?? {}, message),
  };
}

/**
 * One JSON line per record on stderr, so logs stay machine-readable; records below `level` are
 * skipped (default `info`: closes by the peer, at `debug`, are not written).
 */
export function createConsoleLogger(options: { level?: LogLevel } = {}): Required<Logger> {
  const threshold = LOG_LEVELS.indexOf(options.level ?? 'info');
  const at =
    (level: LogLevel) =>
    (message: string, fields?: Record<string, unknown>): void => {
      if (LOG_LEVELS.indexOf(level) <= threshold) log(level, message, fields);
    };
  return { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') };
}

/** The default logger: {@link createConsoleLogger} at `info`. */
export const consoleLogger: Required<Logger> = createConsoleLogger();

function log(level: string, message: string, fields?: Record<string, unknown>): void {
  const record: Record<string, unknown> = { level, time: new Date().toISOString(), message, ...fields };
  const error = fields?.error;
  if (error instanceof Error) record.error = { name: error.name, message: error.message, stack: error.stack };
  console.error(JSON.stringify(record));
}

export const silentLogger: Required<Logger> = { error() {}, warn() {}, info() {}, debug() {} };
