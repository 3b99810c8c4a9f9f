import type {
  ServiceCommandName,
  ServiceDef,
  ServiceEventInput,
  ServiceEventName,
  ServiceHandlerInput,
  ServiceHandlerItem,
  ServiceHandlerOutput,
  ServiceStreamName,
} from '../protocol/define.js';
import type { Principal } from './auth/authenticator.js';
import type { CallLocals } from './middleware.js';

/**
 * One attachment of a connection to a service instance (goval's session). Ids are numbers from 2
 * up, unique within the instance: goval reserves 0 for "all sessions" and 1 for internal messages.
 */
export interface Session {
  readonly id: number;
  readonly principal: Principal;
  readonly connectionId: string;
  /** The channel number this session's connection uses for the instance. */
  readonly channel: number;
}

/**
 * Who receives an event of a service instance, in goval's terms: every session, every session but
 * one (usually the sender), or one session.
 */
export type Target = 'all' | { readonly except: number } | { readonly only: number };

/** A running service instance, shared by every channel opened on the same service and name. */
export interface ServiceInstance<D extends ServiceDef = ServiceDef> {
  readonly service: string;
  /** The channel name it was opened with; anonymous instances get a generated one. */
  readonly name: string;
  readonly sessions: ReadonlyMap<number, Session>;
  /** Sends an event to the instance's sessions (all of them by default). */
  emit<E extends ServiceEventName<D>>(event: E, payload: ServiceEventInput<D, E>, target?: Target): void;
}

/** What a service handler gets besides its validated input. */
export interface ServiceContext<D extends ServiceDef, State> {
  readonly state: State;
  readonly instance: ServiceInstance<D>;
  /** The caller's session. */
  readonly session: Session;
  readonly principal: Principal;
  /** Aborted when the call is cancelled, times out, or the connection closes. */
  readonly signal: AbortSignal;
  /** What middleware set for this call (empty without middleware); typed by augmenting `CallLocals`. */
  readonly locals: CallLocals;
  /** Throws a request error with a code declared by the protocol or the service. */
  fail(code: string, message?: string, data?: unknown): never;
}

/** What attach and detach hooks get. */
export interface SessionContext<D extends ServiceDef, State> {
  readonly state: State;
  readonly instance: ServiceInstance<D>;
  readonly session: Session;
}

type Awaitable<T> = T | Promise<T>;

/** Handlers of a service definition: commands return their output, streams yield their items. */
export type ServiceHandlers<D extends ServiceDef, State> = {
  readonly [K in ServiceCommandName<D>]: (
    input: ServiceHandlerInput<D, K>,
    ctx: ServiceContext<D, State>,
  ) => Awaitable<ServiceHandlerOutput<D, K>>;
} & {
  readonly [K in ServiceStreamName<D>]: (
    input: ServiceHandlerInput<D, K>,
    ctx: ServiceContext<D, State>,
  ) => AsyncIterable<ServiceHandlerItem<D, K>> | Iterable<ServiceHandlerItem<D, K>>;
};

/**
 * The server side of a service: how an instance's state is made, its handlers, and hooks for
 * sessions coming and going. An instance is created when the first channel opens on a name and
 * disposed when its last session leaves.
 *
 * @example
 * const counter: ServiceImplementation<typeof counterService, { n: number }> = {
 *   create: () => ({ n: 0 }),
 *   handlers: { increment: (_input, ctx) => ++ctx.state.n },
 * };
 */
export interface ServiceImplementation<D extends ServiceDef, State> {
  create(instance: ServiceInstance<D>): Awaitable<State>;
  readonly handlers: ServiceHandlers<D, State>;
  attached?(ctx: SessionContext<D, State>): Awaitable<void>;
  detached?(ctx: SessionContext<D, State>): Awaitable<void>;
  dispose?(state: State, instance: ServiceInstance<D>): Awaitable<void>;
}
