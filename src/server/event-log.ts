import { LOG_EVENTS, type LogBudget, type LogEventName } from './log-events.js';
import type { Logger, LogLevel } from './logger.js';

/** Who a line is about; each field is written only when known. */
export interface EventSubject {
  readonly connectionId?: string;
  readonly remoteAddress?: string;
  readonly principal?: string;
  readonly traceId?: string;
}

/** Lines written and dropped by one key in the current window. */
interface Tally {
  used: number;
  dropped: number;
}

/**
 * Writes connection events (see LOG_EVENTS) within a {@link LogBudget}, so that a flooder costs a
 * bounded number of lines: per connection, per remote address and for the whole server, each window.
 * A line over budget is counted against the narrowest key that ran out; one `log.suppressed` line per
 * such key says how many, when the window ends (or, for a connection, when it closes). A key runs
 * out only after writing its whole budget, so suppressed lines are bounded too: at most
 * `global / perConnection + global / perAddress + 1` per window.
 */
export class EventLog {
  private readonly connections = new Map<string, Tally>();
  private readonly addresses = new Map<string, Tally>();
  private readonly global: Tally = { used: 0, dropped: 0 };
  private windowStart: number;

  constructor(
    private readonly logger: Logger,
    private readonly budget: LogBudget,
    private readonly now: () => number = Date.now,
  ) {
    this.windowStart = now();
  }

  /** Writes one event at its catalogued level (or `level`), unless over budget. */
  write(
    event: LogEventName,
    subject: EventSubject,
    fields: Record<string, unknown> = {},
    level?: LogLevel,
  ): void {
    const at = level ?? LOG_EVENTS[event].level;
    // A logger without debug (the earlier three-level shape) skips debug events, before any budget.
    if (at === 'debug' && !this.logger.debug) return;
    this.roll();
    const connection =
      subject.connectionId === undefined ? undefined : this.connectionTally(subject.connectionId);
    const address =
      subject.remoteAddress === undefined ? undefined : this.addressTally(subject.remoteAddress);
    const { perConnection, perAddress, global } = this.budget;
    const exhausted =
      connection && connection.used >= perConnection
        ? connection
        : address && address.used >= perAddress
          ? address
          : this.global.used >= global
            ? this.global
            : undefined;
    if (exhausted) {
      exhausted.dropped += 1;
      return;
    }
    if (connection) connection.used += 1;
    if (address) address.used += 1;
    this.global.used += 1;
    this.emit(at, event, bounded({ ...present(subject), ...fields }));
  }

  /**
   * Writes a connection's close line and forgets its tally. The line is never refused by the
   * connection's own budget, so every close is logged once (within the address and global budgets),
   * and carries `suppressed`: how many of the connection's lines were dropped, when any were.
   */
  closed(
    event: LogEventName,
    subject: EventSubject,
    fields: Record<string, unknown>,
    level?: LogLevel,
  ): void {
    const id = subject.connectionId;
    const tally = id === undefined ? undefined : this.connections.get(id);
    if (id !== undefined) this.connections.delete(id);
    const { connectionId: _, ...keys } = subject;
    this.write(
      event,
      keys,
      {
        ...(id === undefined ? {} : { connectionId: id }),
        ...fields,
        ...(tally?.dropped ? { suppressed: tally.dropped } : {}),
      },
      level,
    );
  }

  /** Writes every suppressed count now (the server is closing), and starts a new window. */
  flush(): void {
    this.windowStart = Number.NEGATIVE_INFINITY;
    this.roll();
  }

  /** Starts a new window when the current one has ended, reporting what each key dropped in it. */
  private roll(): void {
    const now = this.now();
    if (now - this.windowStart < this.budget.windowMs) return;
    this.windowStart = now;
    for (const [id, tally] of this.connections) {
      if (tally.dropped) this.suppressed(`connection ${id}`, tally.dropped, { connectionId: id });
    }
    // Cleared, not reset: a tally made by a line written after its connection's close goes too.
    this.connections.clear();
    for (const [address, tally] of this.addresses) {
      if (tally.dropped) this.suppressed(`address ${address}`, tally.dropped, { remoteAddress: address });
    }
    this.addresses.clear();
    if (this.global.dropped) this.suppressed('global', this.global.dropped, {});
    this.global.used = 0;
    this.global.dropped = 0;
  }

  private connectionTally(id: string): Tally {
    const known = this.connections.get(id);
    if (known) return known;
    const tally = { used: 0, dropped: 0 };
    this.connections.set(id, tally);
    return tally;
  }

  /** Undefined when `maxAddresses` are tracked already: the line then counts against `global` only. */
  private addressTally(address: string): Tally | undefined {
    const known = this.addresses.get(address);
    if (known || this.addresses.size >= this.budget.maxAddresses) return known;
    const tally = { used: 0, dropped: 0 };
    this.addresses.set(address, tally);
    return tally;
  }

  private suppressed(key: string, dropped: number, subject: EventSubject): void {
    this.emit(LOG_EVENTS['log.suppressed'].level, 'log.suppressed', { ...present(subject), key, dropped });
  }

  private emit(level: LogLevel, event: LogEventName, fields: Record<string, unknown>): void {
    try {
      this.logger[level]?.(LOG_EVENTS[event].message, { event, ...fields });
    } catch {
      // A logger that throws loses its line, never the connection it was about.
    }
  }
}

/** Longest string field written: reasons and ids can carry peer text (a decoder's message quoting the frame). */
export const MAX_LOGGED_STRING = 256;

/** The fields with every string cut to {@link MAX_LOGGED_STRING} characters, so a line's size is bounded too. */
function bounded(fields: Record<string, unknown>): Record<string, unknown> {
  for (const [key, value] of Object.entries(fields))
    if (typeof value === 'string' && value.length > MAX_LOGGED_STRING)
      fields[key] = `${value.slice(0, MAX_LOGGED_STRING)}…`;
  return fields;
}

/** The subject's fields that are known, so a line never carries `principal: undefined`. */
function present(subject: EventSubject): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const [key, value] of Object.entries(subject)) if (value !== undefined) fields[key] = value;
  return fields;
}
