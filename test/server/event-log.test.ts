import { describe, expect, test } from 'vitest';
import { EventLog, MAX_LOGGED_STRING } from '../../src/server/event-log.js';
import { DEFAULT_LOG_BUDGET, type LogBudget } from '../../src/server/log-events.js';
import {
  createConsoleLogger,
  type FieldsFirstLogger,
  fromPino,
  type Logger,
} from '../../src/server/logger.js';
import { captureLog } from '../support/log-capture.js';

/** An event log on a clock the test moves by hand. */
function eventLog(budget: Partial<LogBudget> = {}, logger?: Logger) {
  const { lines, logger: captured } = captureLog();
  const clock = { now: 0 };
  const log = new EventLog(logger ?? captured, { ...DEFAULT_LOG_BUDGET, ...budget }, () => clock.now);
  return { log, lines, clock };
}

const bad = (log: EventLog, connectionId: string, remoteAddress: string) =>
  log.write('message.bad', { connectionId, remoteAddress }, { code: 'BAD_MESSAGE', reason: 'x' });

describe('EventLog', () => {
  test('without a budget 10,000 bad frames are 10,000 lines; with the default, 20, and the close line counts the rest', () => {
    const unbounded = eventLog({ perConnection: Infinity, perAddress: Infinity, global: Infinity });
    for (let i = 0; i < 10_000; i++) bad(unbounded.log, 'c1', '10.0.0.1');
    expect(unbounded.lines).toHaveLength(10_000);

    const { log, lines } = eventLog();
    for (let i = 0; i < 10_000; i++) bad(log, 'c1', '10.0.0.1');
    log.closed(
      'connection.closed',
      { connectionId: 'c1', remoteAddress: '10.0.0.1' },
      { code: 1000, reason: '', byServer: false },
    );
    expect(lines).toHaveLength(21);
    expect(lines[20]).toEqual({
      level: 'info',
      message: 'connection closed',
      fields: {
        event: 'connection.closed',
        remoteAddress: '10.0.0.1',
        connectionId: 'c1',
        code: 1000,
        reason: '',
        byServer: false,
        suppressed: 9_980,
      },
    });
  });

  test('a new window writes one suppressed line per key that dropped lines, then lines flow again', () => {
    const { log, lines, clock } = eventLog({ windowMs: 1000, perConnection: 2, perAddress: 3 });
    for (let i = 0; i < 5; i++) bad(log, 'c1', 'a');
    for (let i = 0; i < 5; i++) bad(log, 'c2', 'a');
    expect(lines).toHaveLength(3); // c1: 2, then the address allows one more (c2's first)
    clock.now = 1000;
    bad(log, 'c2', 'a');
    expect(lines.slice(3).map((l) => l.fields)).toEqual([
      { event: 'log.suppressed', connectionId: 'c1', key: 'connection c1', dropped: 3 },
      { event: 'log.suppressed', remoteAddress: 'a', key: 'address a', dropped: 4 },
      { event: 'message.bad', connectionId: 'c2', remoteAddress: 'a', code: 'BAD_MESSAGE', reason: 'x' },
    ]);
  });

  test('many addresses: the global cap holds, and suppressed lines stay within global/perConnection + global/perAddress + 1', () => {
    const budget = { windowMs: 1000, perConnection: 5, perAddress: 10, global: 50, maxAddresses: 100 };
    const { log, lines, clock } = eventLog(budget);
    for (let i = 0; i < 10_000; i++) bad(log, `c${i % 1000}`, `10.0.${i % 500}.1`);
    expect(lines).toHaveLength(50);
    clock.now = 1000;
    log.flush();
    const suppressed = lines.slice(50);
    expect(suppressed.every((l) => l.fields.event === 'log.suppressed')).toBe(true);
    expect(suppressed.length).toBeLessThanOrEqual(50 / 5 + 50 / 10 + 1);
    expect(suppressed.reduce((sum, l) => sum + (l.fields.dropped as number), 0)).toBe(10_000 - 50);
  });

  test('tallies last one window at most: 10,000 connections that never close leave none behind', () => {
    const { log, clock } = eventLog({ windowMs: 1000 });
    for (let i = 0; i < 10_000; i++) bad(log, `c${i}`, `10.${i % 250}.0.1`);
    const tracked = log as unknown as { connections: Map<string, unknown>; addresses: Map<string, unknown> };
    expect([tracked.connections.size, tracked.addresses.size]).toEqual([10_000, 250]);
    clock.now = 1000;
    log.flush();
    expect([tracked.connections.size, tracked.addresses.size]).toEqual([0, 0]);
  });

  test('string fields are cut at MAX_LOGGED_STRING characters, so a line stays small whatever the peer sent', () => {
    const { log, lines } = eventLog();
    log.write(
      'message.bad',
      { connectionId: 'c', principal: 'p'.repeat(5000) },
      { reason: 'x'.repeat(100_000), callId: 7 },
    );
    expect(lines[0]!.fields).toEqual({
      event: 'message.bad',
      connectionId: 'c',
      principal: `${'p'.repeat(MAX_LOGGED_STRING)}…`,
      reason: `${'x'.repeat(MAX_LOGGED_STRING)}…`,
      callId: 7,
    });
  });

  test('a logger without debug skips debug events; a logger that throws loses its line only', () => {
    const threeLevels = captureLog();
    const { debug: _, ...withoutDebug } = threeLevels.logger;
    const { log } = eventLog({}, withoutDebug);
    log.closed(
      'connection.closed',
      { connectionId: 'c' },
      { code: 1000, reason: '', byServer: false },
      'debug',
    );
    log.write('message.bad', { connectionId: 'c' }, {});
    expect(threeLevels.lines.map((l) => l.fields.event)).toEqual(['message.bad']);
    const throwing = eventLog(
      {},
      {
        error() {},
        warn() {},
        info: () => {
          throw new Error('disk full');
        },
      },
    );
    expect(() => bad(throwing.log, 'c', 'a')).not.toThrow();
  });
});

describe('logger shapes', () => {
  test('fromPino calls a fields-first logger with (fields, message)', () => {
    const calls: unknown[][] = [];
    const pinoLike: FieldsFirstLogger = {
      error: (...args) => calls.push(['error', ...args]),
      warn: (...args) => calls.push(['warn', ...args]),
      info: (...args) => calls.push(['info', ...args]),
      debug: (...args) => calls.push(['debug', ...args]),
    };
    const logger = fromPino(pinoLike);
    logger.warn('handshake refused', { event: 'handshake.refused', code: 4100 });
    logger.debug('connection closed');
    expect(calls).toEqual([
      ['warn', { event: 'handshake.refused', code: 4100 }, 'handshake refused'],
      ['debug', {}, 'connection closed'],
    ]);
  });

  test('console satisfies Logger as is, and createConsoleLogger skips lines below its level', () => {
    const asLogger: Logger = console;
    expect(typeof asLogger.debug).toBe('function');
    const written: string[] = [];
    const original = console.error;
    console.error = (line: string) => written.push(line);
    try {
      createConsoleLogger().debug('connection closed', { event: 'connection.closed' });
      createConsoleLogger({ level: 'debug' }).debug('connection closed', { event: 'connection.closed' });
    } finally {
      console.error = original;
    }
    expect(written).toHaveLength(1);
    expect(JSON.parse(written[0]!)).toMatchObject({
      level: 'debug',
      message: 'connection closed',
      event: 'connection.closed',
    });
  });
});
