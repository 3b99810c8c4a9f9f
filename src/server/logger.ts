/** Where the server reports faults. Pass your own (pino, winston...) or `silentLogger` in tests. */
export interface Logger {
  error(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
}

/** One JSON line per record on stderr, so logs stay machine-readable. */
export const consoleLogger: Logger = {
  error: (message, fields) => log('error', message, fields),
  warn: (message, fields) => log('warn', message, fields),
  info: (message, fields) => log('info', message, fields),
};

function log(level: string, message: string, fields?: Record<string, unknown>): void {
  const record: Record<string, unknown> = { level, time: new Date().toISOString(), message, ...fields };
  const error = fields?.error;
  if (error instanceof Error) record.error = { name: error.name, message: error.message, stack: error.stack };
  console.error(JSON.stringify(record));
}

export const silentLogger: Logger = { error() {}, warn() {}, info() {} };
