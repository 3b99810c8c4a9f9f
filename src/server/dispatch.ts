import { RequestError } from '../protocol/errors.js';
import { firstMissing } from '../protocol/permissions.js';
import { describeIssues, validate } from '../protocol/schema.js';
import type { Call } from '../wire/message.js';
import type { CallAuthOutcome, Principal } from './auth/authenticator.js';
import { CallControl } from './call-control.js';
import type { Connection } from './connection.js';
import { toErrorMessage } from './errors.js';
import type { Context } from './handlers.js';
import { runIdempotent } from './idempotent-call.js';
import { aroundCall, type CallLocals } from './middleware.js';
import type { Route } from './runtime.js';

/**
 * Runs one call: checks it may run (shutdown, duplicate id, in-flight limit, command, permission),
 * validates its input, runs the handler under an AbortSignal and a timeout, and replies once.
 * The reply is the result, the stream's items and end, or exactly one error.
 */
export function dispatch(connection: Connection, call: Call): void {
  if (call.credential === undefined) {
    start(connection, call, connection.principal);
    return;
  }
  const { runtime } = connection;
  const refuse = (reason: string) =>
    connection.send(
      toErrorMessage(runtime, new RequestError('UNAUTHENTICATED', reason), call.id, {
        connectionId: connection.id,
        command: call.command,
      }),
    );
  const authenticateCall = runtime.auth.authenticateCall;
  if (!authenticateCall) {
    refuse('this server does not accept per-call credentials');
    return;
  }
  const settle = (outcome: CallAuthOutcome) => {
    if (!connection.isOpen) return;
    if (outcome.ok) start(connection, call, outcome.principal);
    else refuse(outcome.reason);
  };
  const fault = (error: unknown) =>
    connection.send(
      toErrorMessage(runtime, error, call.id, { connectionId: connection.id, command: call.command }),
    );
  let outcome: CallAuthOutcome | Promise<CallAuthOutcome>;
  try {
    outcome = authenticateCall.call(runtime.auth, call.credential, connection.principal);
  } catch (error) {
    fault(error);
    return;
  }
  // Synchronous stores (the API key map) keep the call on the fast path, in arrival order.
  if (outcome instanceof Promise)
    connection.guarded('authenticating a call', () => outcome.then(settle, fault));
  else settle(outcome);
}

/** Runs a call on behalf of `principal`: the connection's, or the one its per-call credential names. */
function start(connection: Connection, call: Call, principal: Principal): void {
  const { runtime } = connection;
  const { id, command } = call;
  const route = admit(connection, call, principal);
  if (route instanceof RequestError) {
    connection.send(toErrorMessage(runtime, route, id, { connectionId: connection.id, command }));
    return;
  }

  const control = new CallControl();
  control.channel = call.channel;
  if (route.def.kind === 'stream' && call.window !== undefined) control.credits = call.window;
  connection.inFlight.set(id, control);
  const timeoutMs =
    route.def.timeoutMs ?? (route.def.kind === 'command' ? runtime.limits.defaultCallTimeoutMs : undefined);
  const timer =
    timeoutMs === undefined
      ? undefined
      : setTimeout(
          () => control.abort(new RequestError('TIMEOUT', `${command} timed out after ${timeoutMs} ms`)),
          timeoutMs,
        );
  // However the call ends, an abort answers the caller at once; the handler may still be winding down.
  control.onAbort = (reason) => {
    if (reason instanceof RequestError && reason.code === 'DISCONNECTED') return;
    connection.send(toErrorMessage(runtime, reason, id, { connectionId: connection.id, command }));
  };
  connection.guarded(`running ${command}`, () => execute(connection, route, call, control, timer, principal));
}

/** Runs the handler and reports its failure, then releases the call's slot; one promise per call. */
async function execute(
  connection: Connection,
  route: Route,
  call: Call,
  control: CallControl,
  timer: ReturnType<typeof setTimeout> | undefined,
  principal: Principal,
): Promise<void> {
  try {
    await (route.def.kind === 'stream' ? runStream : runCommand)(connection, route, call, control, principal);
  } catch (error) {
    if (!control.aborted) {
      connection.send(
        toErrorMessage(connection.runtime, error, call.id, {
          connectionId: connection.id,
          command: call.command,
        }),
      );
    }
  } finally {
    clearTimeout(timer);
    control.onAbort = undefined;
    connection.inFlight.delete(call.id);
    connection.runtime.settled();
  }
}

/** The route a call may run on, or why it may not run at all. */
function admit(connection: Connection, call: Call, principal: Principal): Route | RequestError {
  const { runtime } = connection;
  const { id, command } = call;
  if (runtime.shuttingDown) return new RequestError('UNAVAILABLE');
  if (connection.inFlight.has(id)) {
    return new RequestError('DUPLICATE_ID', `call id ${JSON.stringify(id)} is already running`);
  }
  const { maxInFlight } = runtime.limits;
  if (connection.inFlight.size >= maxInFlight) {
    return new RequestError('TOO_MANY_IN_FLIGHT', `at most ${maxInFlight} calls may run at once`, {
      limit: maxInFlight,
    });
  }
  const route =
    call.channel === undefined
      ? runtime.routes.get(command)
      : runtime.channels.route(connection, call.channel, command);
  if (route instanceof RequestError) return route;
  if (!route)
    return new RequestError('UNKNOWN_COMMAND', `unknown command ${JSON.stringify(command).slice(0, 140)}`);
  const missing = firstMissing(principal.permissions, route.permissions);
  if (missing) {
    return new RequestError('PERMISSION_DENIED', `${command} requires permission "${missing}"`, {
      required: missing,
    });
  }
  return route;
}

/** `ctx.locals` of a call no middleware ran around: shared, frozen, so none is made per call. */
export const NO_LOCALS: CallLocals = Object.freeze({});

export async function parseInput(route: Route, input: unknown): Promise<unknown> {
  const result = validate(route.def.input, input);
  const parsed = result instanceof Promise ? await result : result;
  if (!parsed.ok) {
    throw new RequestError(
      'INVALID_INPUT',
      `invalid input for ${route.def.name}: ${describeIssues(parsed.issues)}`,
      {
        issues: parsed.issues,
      },
    );
  }
  return parsed.value;
}

/** Output that fails its schema is our bug, not the caller's: it becomes INTERNAL with a trace. */
export async function checkOutput(
  connection: Connection,
  schema: Route['def']['input'],
  value: unknown,
  what: string,
) {
  if (!connection.runtime.validateOutput) return value;
  const result = validate(schema, value);
  const checked = result instanceof Promise ? await result : result;
  if (!checked.ok) throw new Error(`${what} does not match its schema: ${describeIssues(checked.issues)}`);
  return checked.value;
}

async function runCommand(
  connection: Connection,
  route: Route,
  call: Call,
  control: CallControl,
  principal: Principal,
): Promise<void> {
  if (route.def.kind === 'command' && route.def.idempotent && call.idempotencyKey !== undefined) {
    return runIdempotent(connection, route, call, control, principal, call.idempotencyKey);
  }
  const input = await parseInput(route, call.input);
  return throughMiddleware(commandCore, connection, route, call, control, principal, input);
}

/** The handler and its reply, which middleware runs around. */
type Core = (
  connection: Connection,
  route: Route,
  call: Call,
  control: CallControl,
  principal: Principal,
  input: unknown,
  locals: CallLocals,
) => Promise<void>;

/** Runs `core` inside the server's middleware, or straight when there is none. */
function throughMiddleware(
  core: Core,
  connection: Connection,
  route: Route,
  call: Call,
  control: CallControl,
  principal: Principal,
  input: unknown,
): Promise<void> {
  const { middleware } = connection.runtime;
  // Without middleware, no closure and no record per call: the hot path as it always was.
  if (middleware === undefined) return core(connection, route, call, control, principal, input, NO_LOCALS);
  return aroundCall(middleware, connection, route, call, control, principal, input, false, (locals) =>
    core(connection, route, call, control, principal, input, locals),
  );
}

/** Runs a command's handler and sends its checked result. */
async function commandCore(
  connection: Connection,
  route: Route,
  call: Call,
  control: CallControl,
  principal: Principal,
  input: unknown,
  locals: CallLocals,
): Promise<void> {
  const output = await route.handler(input, createContext(connection, route, control, principal, locals));
  if (control.aborted) return;
  if (route.def.kind !== 'command') return;
  const checked = await checkOutput(connection, route.def.output, output, `output of ${route.def.name}`);
  if (control.aborted) return;
  connection.send({ type: 'result', id: call.id, output: checked, command: route.def.name });
}

async function runStream(
  connection: Connection,
  route: Route,
  call: Call,
  control: CallControl,
  principal: Principal,
): Promise<void> {
  if (route.def.kind !== 'stream') return;
  const input = await parseInput(route, call.input);
  return throughMiddleware(streamCore, connection, route, call, control, principal, input);
}

/** Runs a stream's handler and sends its items, with flow control, and its end. */
async function streamCore(
  connection: Connection,
  route: Route,
  call: Call,
  control: CallControl,
  principal: Principal,
  input: unknown,
  locals: CallLocals,
): Promise<void> {
  if (route.def.kind !== 'stream') return;
  const source = route.handler(input, createContext(connection, route, control, principal, locals)) as
    | AsyncIterable<unknown>
    | Iterable<unknown>;
  const iterator =
    Symbol.asyncIterator in source
      ? (source as AsyncIterable<unknown>)[Symbol.asyncIterator]()
      : (source as Iterable<unknown>)[Symbol.iterator]();
  // Closing the iterator runs the generator's `finally` blocks; chained before the reply on abort.
  const reply = control.onAbort;
  control.onAbort = (reason) => {
    void Promise.resolve(iterator.return?.()).catch(() => {});
    reply?.(reason);
  };
  try {
    for (;;) {
      const step = await iterator.next();
      if (control.aborted || step.done) break;
      const item = await checkOutput(connection, route.def.item, step.value, `item of ${route.def.name}`);
      // Pull-based flow control: never more than the client's window ahead of what it consumed.
      if (control.credits <= 0) await control.untilCredit();
      if (control.aborted) break;
      control.credits--;
      connection.send({ type: 'item', id: call.id, item, command: route.def.name });
    }
  } finally {
    control.onAbort = reply;
  }
  if (!control.aborted) connection.send({ type: 'end', id: call.id, command: route.def.name });
}

export function createContext(
  connection: Connection,
  route: Route,
  control: CallControl,
  principal: Principal,
  locals: CallLocals,
): Context<any> {
  const { pusher } = connection.runtime;
  return {
    connection,
    principal,
    locals,
    command: route.def.name,
    get signal() {
      return control.signal;
    },
    server: pusher,
    push(event, payload) {
      pusher.pushTo(connection.id, event, payload as never);
    },
    fail(code, message, data) {
      throw new RequestError(code, message, data);
    },
  };
}
