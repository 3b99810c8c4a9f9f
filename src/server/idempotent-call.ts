import type { StoredOutcome } from '../broker/idempotency.js';
import { RequestError } from '../protocol/errors.js';
import type { Call } from '../wire/message.js';
import type { Principal } from './auth/authenticator.js';
import type { CallControl } from './call-control.js';
import type { Connection } from './connection.js';
import { checkOutput, createContext, NO_LOCALS, parseInput } from './dispatch.js';
import { aroundCall, type CallLocals } from './middleware.js';
import type { Route } from './runtime.js';

/** How long an idempotent command's outcome is kept when its definition names no window. */
export const DEFAULT_IDEMPOTENCY_WINDOW_MS = 10 * 60_000;
/** How much longer than the call's timeout a claim lives before another node may take the key. */
const CLAIM_MARGIN_MS = 5_000;

/** Aborts that say nothing about the call itself: a retry must run it again rather than replay them. */
const TRANSIENT = new Set([
  'TIMEOUT',
  'CANCELLED',
  'DISCONNECTED',
  'UNAVAILABLE',
  'RATE_LIMITED',
  'TOO_MANY_IN_FLIGHT',
]);

/**
 * An idempotent command: the first run under a key (per user and command) runs the handler and
 * stores its outcome; a retry, on this node or another sharing the broker, waits for that run if it
 * is still going and replies with its outcome. The outcome is stored even when the caller has gone,
 * since its retry is on the way.
 */
export async function runIdempotent(
  connection: Connection,
  route: Route,
  call: Call,
  control: CallControl,
  principal: Principal,
  idempotencyKey: string,
): Promise<void> {
  if (route.def.kind !== 'command') return;
  const { runtime } = connection;
  const store = runtime.idempotency;
  const setting = route.def.idempotent;
  const windowMs = typeof setting === 'object' ? setting.windowMs : DEFAULT_IDEMPOTENCY_WINDOW_MS;
  const scope = `${principal.id}\u0000${route.def.name}\u0000${idempotencyKey}`;
  // A claim outlives the longest run by a margin; a node that dies mid-run frees the key by expiry.
  const claimTtlMs = (route.def.timeoutMs ?? runtime.limits.defaultCallTimeoutMs) + CLAIM_MARGIN_MS;
  let outcome: StoredOutcome;
  let replay = false;
  for (let delay = 5; ; delay = Math.min(delay * 2, 200)) {
    const claim = await storeCall(() => store.claim(scope, claimTtlMs));
    if (claim.state === 'done') {
      outcome = claim.outcome;
      replay = true;
      break;
    }
    if (claim.state === 'claimed') {
      outcome = await runOnce(connection, route, call, control, principal, async (result) => {
        await storeCall(() => store.complete(scope, result, windowMs));
      }).catch(async (error) => {
        await store.release(scope).catch(() => {
          // The claim expires by itself; a retry then runs the handler again.
        });
        throw error;
      });
      break;
    }
    if (control.aborted) return;
    await pause(delay, control.signal);
    if (control.aborted) return;
  }
  if (control.aborted) return;
  const { middleware } = runtime;
  // A replay goes through middleware too, marked as one: the caller is answered, the handler does not run.
  if (replay && middleware !== undefined) {
    const stored = outcome;
    return aroundCall(middleware, connection, route, call, control, principal, call.input, true, async () =>
      deliver(connection, route, call, stored),
    );
  }
  deliver(connection, route, call, outcome);
}

/** Answers the caller with an outcome, run now or stored. */
function deliver(connection: Connection, route: Route, call: Call, outcome: StoredOutcome): void {
  if (!outcome.ok) throw new RequestError(outcome.code as never, outcome.message, outcome.data);
  connection.send({ type: 'result', id: call.id, output: outcome.output, command: route.def.name });
}

/** Runs the handler once and hands its outcome (a result or a request error) to `record`. */
async function runOnce(
  connection: Connection,
  route: Route,
  call: Call,
  control: CallControl,
  principal: Principal,
  record: (outcome: StoredOutcome) => Promise<void>,
): Promise<StoredOutcome> {
  if (route.def.kind !== 'command') throw new TypeError('only commands are idempotent');
  let outcome: StoredOutcome;
  try {
    const input = await parseInput(route, call.input);
    const { middleware } = connection.runtime;
    const run = (locals: CallLocals) => runHandler(connection, route, control, principal, input, locals);
    let checked: unknown;
    if (middleware === undefined) checked = await run(NO_LOCALS);
    else
      await aroundCall(
        middleware,
        connection,
        route,
        call,
        control,
        principal,
        input,
        false,
        async (locals) => {
          checked = await run(locals);
        },
      );
    outcome = { ok: true, output: checked };
  } catch (error) {
    if (!(error instanceof RequestError) || TRANSIENT.has(error.code)) throw error;
    outcome = {
      ok: false,
      code: error.code,
      message: error.message,
      ...(error.data === undefined ? {} : { data: error.data }),
    };
  }
  await record(outcome);
  return outcome;
}

/** The handler's checked output. */
async function runHandler(
  connection: Connection,
  route: Route,
  control: CallControl,
  principal: Principal,
  input: unknown,
  locals: CallLocals,
): Promise<unknown> {
  if (route.def.kind !== 'command') throw new TypeError('only commands are idempotent');
  const output = await route.handler(input, createContext(connection, route, control, principal, locals));
  return checkOutput(connection, route.def.output, output, `output of ${route.def.name}`);
}

async function storeCall<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw new RequestError('UNAVAILABLE', `idempotency store unavailable: ${(error as Error).message}`);
  }
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}
