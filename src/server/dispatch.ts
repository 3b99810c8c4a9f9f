import { RequestError } from '../protocol/errors.js';
import { firstMissing } from '../protocol/permissions.js';
import { describeIssues, type Validation, validate } from '../protocol/schema.js';
import type { Call } from '../wire/message.js';
import type { Connection } from './connection.js';
import { toErrorMessage } from './errors.js';
import type { Context } from './handlers.js';
import type { Route } from './runtime.js';

/**
 * Runs one call: checks it may run (shutdown, duplicate id, in-flight limit, command, permission),
 * validates its input, runs the handler under an AbortSignal and a timeout, and replies once.
 * The reply is the result, the stream's items and end, or exactly one error.
 */
export function dispatch(connection: Connection, call: Call): void {
  const { runtime } = connection;
  const { id, command } = call;
  const route = admit(connection, call);
  if (route instanceof RequestError) {
    connection.send(toErrorMessage(runtime, route, id, { connectionId: connection.id, command }));
    return;
  }

  const controller = new AbortController();
  connection.inFlight.set(id, controller);
  const timeoutMs =
    route.def.timeoutMs ?? (route.def.kind === 'command' ? runtime.limits.defaultCallTimeoutMs : undefined);
  const timer =
    timeoutMs === undefined
      ? undefined
      : setTimeout(
          () => controller.abort(new RequestError('TIMEOUT', `${command} timed out after ${timeoutMs} ms`)),
          timeoutMs,
        );
  // However the call ends, an abort answers the caller at once; the handler may still be winding down.
  const onAbort = () => {
    const reason = controller.signal.reason;
    if (reason instanceof RequestError && reason.code === 'DISCONNECTED') return;
    connection.send(toErrorMessage(runtime, reason, id, { connectionId: connection.id, command }));
  };
  controller.signal.addEventListener('abort', onAbort, { once: true });

  const run = route.def.kind === 'stream' ? runStream : runCommand;
  run(connection, route, call, controller.signal)
    .catch((error: unknown) => {
      if (!controller.signal.aborted) {
        connection.send(toErrorMessage(runtime, error, id, { connectionId: connection.id, command }));
      }
    })
    .finally(() => {
      clearTimeout(timer);
      controller.signal.removeEventListener('abort', onAbort);
      connection.inFlight.delete(id);
      runtime.settled();
    });
}

/** The route a call may run on, or why it may not run at all. */
function admit(connection: Connection, call: Call): Route | RequestError {
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
  const route = runtime.routes.get(command);
  if (!route)
    return new RequestError('UNKNOWN_COMMAND', `unknown command ${JSON.stringify(command).slice(0, 140)}`);
  const missing = firstMissing(connection.principal.permissions, route.permissions);
  if (missing) {
    return new RequestError('PERMISSION_DENIED', `${command} requires permission "${missing}"`, {
      required: missing,
    });
  }
  return route;
}

async function validated<T>(result: Validation<T> | Promise<Validation<T>>): Promise<Validation<T>> {
  return result instanceof Promise ? await result : result;
}

async function parseInput(route: Route, input: unknown): Promise<unknown> {
  const parsed = await validated(validate(route.def.input, input));
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
async function checkOutput(
  connection: Connection,
  schema: Route['def']['input'],
  value: unknown,
  what: string,
) {
  if (!connection.runtime.validateOutput) return value;
  const checked = await validated(validate(schema, value));
  if (!checked.ok) throw new Error(`${what} does not match its schema: ${describeIssues(checked.issues)}`);
  return checked.value;
}

async function runCommand(
  connection: Connection,
  route: Route,
  call: Call,
  signal: AbortSignal,
): Promise<void> {
  const input = await parseInput(route, call.input);
  const output = await route.handler(input, createContext(connection, route, signal));
  if (signal.aborted) return;
  if (route.def.kind !== 'command') return;
  const checked = await checkOutput(connection, route.def.output, output, `output of ${route.def.name}`);
  if (signal.aborted) return;
  connection.send({ type: 'result', id: call.id, output: checked, command: route.def.name });
}

async function runStream(
  connection: Connection,
  route: Route,
  call: Call,
  signal: AbortSignal,
): Promise<void> {
  if (route.def.kind !== 'stream') return;
  const input = await parseInput(route, call.input);
  const source = route.handler(input, createContext(connection, route, signal)) as
    | AsyncIterable<unknown>
    | Iterable<unknown>;
  const iterator =
    Symbol.asyncIterator in source
      ? (source as AsyncIterable<unknown>)[Symbol.asyncIterator]()
      : (source as Iterable<unknown>)[Symbol.iterator]();
  const stop = () => void Promise.resolve(iterator.return?.()).catch(() => {});
  signal.addEventListener('abort', stop, { once: true });
  try {
    for (;;) {
      const step = await iterator.next();
      if (signal.aborted || step.done) break;
      const item = await checkOutput(connection, route.def.item, step.value, `item of ${route.def.name}`);
      if (signal.aborted) break;
      connection.send({ type: 'item', id: call.id, item, command: route.def.name });
    }
  } finally {
    signal.removeEventListener('abort', stop);
  }
  if (!signal.aborted) connection.send({ type: 'end', id: call.id, command: route.def.name });
}

function createContext(connection: Connection, route: Route, signal: AbortSignal): Context<any> {
  const { pusher } = connection.runtime;
  return {
    connection,
    principal: connection.principal,
    command: route.def.name,
    signal,
    server: pusher,
    push(event, payload) {
      pusher.pushTo(connection.id, event, payload as never);
    },
    fail(code, message, data) {
      throw new RequestError(code, message, data);
    },
  };
}
