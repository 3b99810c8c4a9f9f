import type { Logger } from '../../src/server/logger.js';

/** A logger that keeps every line, at every level (debug included), and finds them by event name. */
export function captureLog() {
  const lines: { level: string; message: string; fields: Record<string, unknown> }[] = [];
  const at =
    (level: string) =>
    (message: string, fields: Record<string, unknown> = {}) =>
      lines.push({ level, message, fields });
  const logger: Required<Logger> = {
    error: at('error'),
    warn: at('warn'),
    info: at('info'),
    debug: at('debug'),
  };
  const events = (name: string) => lines.filter((line) => line.fields.event === name);
  return { logger, lines, events };
}
