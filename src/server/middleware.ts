import { performance } from 'node:perf_hooks';
import { isBuiltinErrorCode } from '../protocol/error-codes.js';
import { RequestError } from '../protocol/errors.js';
import type { Call, CallId } from '../wire/message.js';
import type { Principal } from './auth/authenticator.js';
import type { CallControl } from './call-control.js';
import type { Connection } from './connection.js';
import type { ConnectionInfo } from './handlers.js';
import type { Route, Runtime } from './runtime.js';

/**
 * What middleware hands the handler, as `ctx.locals`. Empty by default; add typed fields by
 * augmenting it: `declare module 'switchboard/server' { interface CallLocals { user: User } }`.
 */
// biome-ignore lint/suspicious/noEmptyInterface: augmented by applications
export interface CallLocals {}

/** How a call ended: the caller got its result (or the stream's end), a request error, or INTERNAL. */
export type CallOutcome =
  | { readonly status: 'ok' }
  | { readonly status: 'error'; readonly code: string }
  | { readonly status: 'internal' };

/** What one middleware sees of a call; `outcome` and `durationMs` are set once `next()` settles. */
export interface CallInfo {
  readonly id: CallId;
  /** The dotted command name: `jobs.queue`, or `vault.peek` for a service's command on a channel. */
  readonly command: string;
  readonly kind: 'command' | 'stream';
  readonly principal: Principal;
  readonly connection: ConnectionInfo;
  /** The validated input; on a replay, the retry's input as received (the handler does not run). */
  readonly input: unknown;
  /** The channel of a service call, and its service's name; undefined for other calls. */
  readonly channel: number | undefined;
  readonly service: string | undefined;
  /** True when an idempotent retry is answered with a stored outcome: the handler does not run. */
  readonly replay: boolean;
  /** `Date.now()` when the middleware chain started. */
  readonly startedAt: number;
  /** Fires when the call is cancelled, times out, its connection closes, or the server shuts down. */
  readonly signal: AbortSignal;
  /** Merged into the handler's context as `ctx.locals`. */
  readonly locals: CallLocals;
  outcome: CallOutcome | undefined;
  /** Milliseconds from `startedAt` to the outcome (monotonic clock). */
  durationMs: number | undefined;
}

/**
 * Runs around every call and stream, Koa-style: code before `await next()` runs before the handler,
 * code after it sees `outcome` and `durationMs`. Throwing a RequestError refuses the call with it;
 * throwing anything else is an internal error.
 */
export type Middleware = (call: CallInfo, next: () => Promise<void>) => unknown;

/** The part of a call middleware wraps: the handler and its reply. */
type Core = (locals: CallLocals) => Promise<void>;

/**
 * Runs `core` inside the middleware chain. The outcome is the core's (or, when it was aborted, the
 * abort's): a middleware may refuse or replace a failure by throwing, but cannot swallow one, since
 * the caller must always be answered.
 */
export async function aroundCall(
  middleware: readonly Middleware[],
  connection: Connection,
  route: Route,
  call: Call,
  control: CallControl,
  principal: Principal,
  input: unknown,
  replay: boolean,
  core: Core,
): Promise<void> {
  const started = performance.now();
  const info: CallInfo = {
    id: call.id,
    command: route.def.name,
    kind: route.def.kind === 'stream' ? 'stream' : 'command',
    principal,
    connection,
    input,
    channel: call.channel,
    service: call.channel === undefined ? undefined : connection.channels.get(call.channel)?.instance.service,
    replay,
    startedAt: Date.now(),
    signal: control.signal,
    locals: {},
    outcome: undefined,
    durationMs: undefined,
  };
  let coreRan = false;
  let coreFailed = false;
  let coreError: unknown;
  const settle = (error: unknown, failed: boolean) => {
    info.durationMs = performance.now() - started;
    info.outcome = outcomeOf(
      connection.runtime,
      control.aborted ? control.signal.reason : error,
      control.aborted || failed,
    );
  };
  const step = async (index: number): Promise<void> => {
    const current = middleware[index];
    if (current === undefined) {
      coreRan = true;
      try {
        await core(info.locals);
      } catch (error) {
        coreFailed = true;
        coreError = error;
        throw error;
      }
      return;
    }
    let called = false;
    await current(info, () => {
      if (called) return Promise.reject(new Error('next() called more than once'));
      called = true;
      return step(index + 1).then(
        () => settle(undefined, false),
        (error) => {
          settle(error, true);
          throw error;
        },
      );
    });
  };
  await step(0);
  if (coreFailed) throw coreError;
  // Returning without next() and without refusing would leave the caller unanswered: our bug to report.
  if (!coreRan) throw new Error(`a middleware of ${route.def.name} returned without calling next()`);
}

/** As the caller sees it: a RequestError whose code the protocol does not declare is INTERNAL (see errors.ts). */
function outcomeOf(runtime: Runtime, error: unknown, failed: boolean): CallOutcome {
  if (!failed) return OK;
  if (
    error instanceof RequestError &&
    (isBuiltinErrorCode(error.code) || runtime.protocol.errors.has(error.code))
  )
    return { status: 'error', code: error.code };
  return INTERNAL;
}

const OK: CallOutcome = Object.freeze({ status: 'ok' });
const INTERNAL: CallOutcome = Object.freeze({ status: 'internal' });
