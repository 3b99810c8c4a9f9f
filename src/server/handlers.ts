import type {
  CommandDef,
  DomainErrorCode,
  EventName,
  EventPayload,
  Protocol,
  ProtocolDef,
  StreamDef,
} from '../protocol/define.js';
import type { BuiltinErrorCode } from '../protocol/error-codes.js';
import type { InputOf, OutputOf } from '../protocol/schema.js';
import type { UpgradeRequest } from '../transport/socket.js';
import type { Principal } from './auth/authenticator.js';
import type { CallLocals } from './middleware.js';

/** What a handler knows about the connection it serves. */
export interface ConnectionInfo {
  readonly id: string;
  readonly principal: Principal;
  readonly request: UpgradeRequest;
}

/** Sends events, typed by the protocol, without knowing the wire format. */
export interface Pusher<P> {
  /** To one connection. Returns how many connections it was sent to (0 or 1). */
  pushTo<E extends EventName<P>>(connectionId: string, event: E, payload: EventPayload<P, E>): number;
  /** To every connection of a user. */
  pushToUser<E extends EventName<P>>(userId: string, event: E, payload: EventPayload<P, E>): number;
  /** To every open connection. */
  broadcast<E extends EventName<P>>(event: E, payload: EventPayload<P, E>): number;
}

/** The second argument of every handler. */
export interface Context<P> {
  readonly connection: ConnectionInfo;
  /** Shorthand for `connection.principal`. */
  readonly principal: Principal;
  /** The dotted command name, e.g. `jobs.queue`. */
  readonly command: string;
  /** Fires when the caller cancels, disconnects, the call times out, or the server shuts down. */
  readonly signal: AbortSignal;
  /** Pushes an event to the calling connection. */
  push<E extends EventName<P>>(event: E, payload: EventPayload<P, E>): void;
  /** Pushes to other connections, users, or everyone. */
  readonly server: Pusher<P>;
  /** Fails the call with one of the protocol's errors (or a built-in one). */
  fail(code: DomainErrorCode<P> | BuiltinErrorCode, message?: string, data?: unknown): never;
  /** What middleware set for this call (empty without middleware); typed by augmenting `CallLocals`. */
  readonly locals: CallLocals;
}

type Defs<P> = P extends Protocol<infer D extends ProtocolDef> ? D : never;

/** The implementation of one command or stream. */
export type HandlerFor<P, M> =
  M extends CommandDef<infer I, infer O>
    ? (input: OutputOf<I>, ctx: Context<P>) => InputOf<O> | Promise<InputOf<O>>
    : M extends StreamDef<infer I, infer T>
      ? (input: OutputOf<I>, ctx: Context<P>) => AsyncIterable<InputOf<T>> | Iterable<InputOf<T>>
      : never;

/**
 * Handlers for every command of a protocol, shaped like its resources:
 * `{ jobs: { queue: async (input, ctx) => …, logs: async function* (input, ctx) { … } } }`.
 * Leaving one out is a type error.
 */
export type Handlers<P> = {
  [R in keyof Defs<P>['resources'] as Defs<P>['resources'][R] extends { commands: object }
    ? R
    : never]: Defs<P>['resources'][R] extends { commands: infer C }
    ? { [K in keyof C]: HandlerFor<P, C[K]> }
    : never;
};
