import type { BuiltinErrorCode } from './error-codes.js';
import { isBuiltinErrorCode } from './error-codes.js';
import type { InputOf, OutputOf, StandardSchemaV1 } from './schema.js';
import { majorOf } from './version.js';

type Schema = StandardSchemaV1;

/** Request → one response. */
export interface CommandDef<I extends Schema = Schema, O extends Schema = Schema> {
  readonly kind: 'command';
  readonly input: I;
  readonly output: O;
  /** Every listed permission is required, checked before the input is even validated. */
  readonly permission?: string | readonly string[];
  /** How long the server lets the handler run, and the client's default wait. */
  readonly timeoutMs?: number;
  readonly description?: string;
  /** A stable number for binary wire formats; changing it breaks deployed clients. */
  readonly wireId?: number;
  /**
   * Safe to retry: the client retries it after a reconnect with the same idempotency key, and every
   * node sharing the broker answers a retry with the first run's outcome instead of running the
   * handler again, within `windowMs` (default 10 minutes).
   */
  readonly idempotent?: boolean | { readonly windowMs: number };
}

/** Request → many items, then an end or an error (the fetch_ml seed's log streaming). */
export interface StreamDef<I extends Schema = Schema, T extends Schema = Schema> {
  readonly kind: 'stream';
  readonly input: I;
  readonly item: T;
  readonly permission?: string | readonly string[];
  /** Longest the whole stream may run; unset means until the caller cancels or the handler ends. */
  readonly timeoutMs?: number;
  readonly description?: string;
  readonly wireId?: number;
}

/** Server → client push. */
export interface EventDef<P extends Schema = Schema> {
  readonly kind: 'event';
  readonly payload: P;
  readonly description?: string;
  readonly wireId?: number;
}

/** A named error both ends know, like buster's WsErrorCode. */
export interface ErrorDef<D extends Schema | undefined = Schema | undefined> {
  readonly message: string;
  readonly data?: D;
}

/**
 * Who may subscribe to (or publish on) a topic: permission strings that must all be granted, or a
 * function of the topic's parameters and the caller, e.g. "a user may follow their own jobs only".
 */
export type TopicRule =
  | string
  | readonly string[]
  | ((params: Readonly<Record<string, string>>, principal: TopicCaller) => boolean | Promise<boolean>);

/** What a topic rule knows about the caller. */
export interface TopicCaller {
  readonly id: string;
  readonly permissions: readonly string[];
}

/** A stream of publications addressed by a pattern such as `jobs.{jobId}.logs`. */
export interface TopicDef<P extends Schema = Schema, Pattern extends string = string> {
  readonly kind: 'topic';
  /** Dotted segments; `{name}` segments are parameters filled in by subscribers and publishers. */
  readonly pattern: Pattern;
  readonly payload: P;
  /** Default: anyone connected may subscribe. */
  readonly subscribe?: TopicRule;
  /** Who may publish from a client; default: nobody (publish from the server only). */
  readonly publish?: TopicRule;
  /** Keep a roster of who follows each key, with join and leave events (goval's roster). */
  readonly presence?: boolean;
  /**
   * The current state behind a key, sent with `subscribed` to a new subscriber and to one whose
   * gap history cannot fill (the agent-sandbox seed's snapshot on connect). Publications then
   * follow in order; they may overlap the snapshot, so they must be idempotent (upserts, deletes).
   */
  readonly snapshot?: (params: Readonly<Record<string, string>>) => unknown;
  /** What happens to a subscriber that reads slower than this topic publishes. Default `disconnect`. */
  readonly backpressure?: BackpressurePolicy;
  readonly description?: string;
}

/**
 * How a topic treats a slow subscriber (one whose socket has more than `limits.backpressureBytes`
 * waiting). Whatever the policy, one slow subscriber never slows the others.
 * - `disconnect`: publications keep going to its socket; past `maxBufferedBytes` it is closed with 4201.
 * - `drop-oldest`: at most `limit` publications wait for it; older ones are dropped and it is told how
 *   many it missed (its subscription's `onGap`, reason `dropped`).
 * - `latest-by-key`: conflation; for each `key(payload)` (a ticker symbol, a document id) only the
 *   newest waiting value is delivered, at most `maxKeys` keys (default 10 000) are held.
 */
export type BackpressurePolicy =
  | { readonly policy: 'disconnect' }
  | { readonly policy: 'drop-oldest'; readonly limit: number }
  | { readonly policy: 'latest-by-key'; readonly key: (payload: any) => string; readonly maxKeys?: number };

export type MemberDef = CommandDef<any, any> | StreamDef<any, any>;

/** A resource groups what belongs together, so `jobs.queue` and `jobs.cancel` read as one table. */
export interface ResourceDef {
  readonly commands?: Readonly<Record<string, MemberDef>>;
  readonly events?: Readonly<Record<string, EventDef<any>>>;
  readonly topics?: Readonly<Record<string, TopicDef<any, string>>>;
}

/**
 * A service: commands and events that run on channels (goval's model). A client opens a channel to a
 * service by name; every channel on the same name shares one service instance, with its own state,
 * which lives while any session is attached. Service commands are called on a channel, and service
 * events go to the instance's sessions (all, all but one, or one).
 */
export interface ServiceDef {
  readonly kind: 'service';
  readonly commands: Readonly<Record<string, MemberDef>>;
  readonly events?: Readonly<Record<string, EventDef<any>>>;
  /** Error codes its handlers raise; merged into the protocol's (a code may not be declared twice). */
  readonly errors?: Readonly<Record<string, ErrorDef<any>>>;
  readonly description?: string;
}

export interface ProtocolDef {
  /** Both ends must use the same name. */
  readonly name: string;
  /** `major.minor.patch`; client and server must share the major. */
  readonly version: string;
  readonly resources: Readonly<Record<string, ResourceDef>>;
  readonly errors?: Readonly<Record<string, ErrorDef<any>>>;
  /** Services clients open channels to, by name (e.g. `chat`, `files`). */
  readonly services?: Readonly<Record<string, ServiceDef>>;
}

/** A command (or stream) with the dotted name it is called by. */
export type NamedMember = MemberDef & { readonly name: string };
export type NamedEvent = EventDef & { readonly name: string };
export type NamedTopic = TopicDef & { readonly name: string; readonly params: readonly string[] };

/** A checked protocol definition: the single source of truth both ends import. */
export interface Protocol<D extends ProtocolDef = ProtocolDef> {
  readonly name: D['name'];
  readonly version: D['version'];
  readonly definition: D;
  /** Commands and streams by dotted name, e.g. `jobs.queue`. */
  readonly commands: ReadonlyMap<string, NamedMember>;
  /** Events by dotted name, e.g. `jobs.updated`. */
  readonly events: ReadonlyMap<string, NamedEvent>;
  /** Topics by dotted name, e.g. `jobs.logs`, with their parameter names. */
  readonly topics: ReadonlyMap<string, NamedTopic>;
  readonly errors: ReadonlyMap<string, ErrorDef>;
  /** Services by name, each with its commands and events by local name. */
  readonly services: ReadonlyMap<string, NamedService>;
}

/** A service as indexed by `defineProtocol`: members are named `<service>.<member>` (e.g. `chat.send`). */
export interface NamedService {
  readonly name: string;
  readonly def: ServiceDef;
  /** By local name (`send`); each member's `name` is qualified (`chat.send`). */
  readonly commands: ReadonlyMap<string, NamedMember>;
  readonly events: ReadonlyMap<string, NamedEvent>;
}

/** Declares a command. @example command({ input: z.object({ id: z.string() }), output: Job, permission: 'jobs:read' }) */
export function command<I extends Schema, O extends Schema>(
  def: Omit<CommandDef<I, O>, 'kind'>,
): CommandDef<I, O> {
  return { kind: 'command', ...def };
}

/** Declares a streamed command. @example stream({ input: z.object({ jobId: z.string() }), item: LogLine }) */
export function stream<I extends Schema, T extends Schema>(
  def: Omit<StreamDef<I, T>, 'kind'>,
): StreamDef<I, T> {
  return { kind: 'stream', ...def };
}

/** Declares a server → client event. @example event(z.object({ id: z.string(), state: JobState })) */
export function event<P extends Schema>(
  payload: P,
  options: Omit<EventDef<P>, 'kind' | 'payload'> = {},
): EventDef<P> {
  return { kind: 'event', payload, ...options };
}

/**
 * Declares a topic. @example
 * topic({ pattern: 'jobs.{jobId}.logs', payload: LogLine, subscribe: (p, who) => jobs.owner(p.jobId) === who.id })
 */
export function topic<P extends Schema, const Pattern extends string>(
  def: Omit<TopicDef<P, Pattern>, 'kind'>,
): TopicDef<P, Pattern> {
  return { kind: 'topic', ...def };
}

/**
 * Declares a service. @example
 * service({ commands: { send: command({ input: z.object({ text: z.string() }), output: z.null() }) },
 *           events: { message: event(ChatMessage) } })
 */
export function service<const D extends Omit<ServiceDef, 'kind'>>(def: D): D & { readonly kind: 'service' } {
  return { kind: 'service', ...def };
}

/** Declares a named error. @example error('Job not found', z.object({ id: z.string() })) */
export function error<D extends Schema | undefined = undefined>(message: string, data?: D): ErrorDef<D> {
  return data === undefined ? ({ message } as ErrorDef<D>) : { message, data };
}

const MEMBER_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;
const ERROR_CODE = /^[A-Z][A-Z0-9_]*$/;

/**
 * Checks a definition and indexes it by dotted name. Throws a TypeError naming the first problem:
 * a bad name, a version that is not `major.minor.patch`, an error code that shadows a built-in one,
 * or a wire id used twice.
 *
 * @example
 * export const api = defineProtocol({
 *   name: 'jobs', version: '1.0.0',
 *   resources: { jobs: { commands: { status: command({ input: z.object({ id: z.string() }), output: Job }) } } },
 * });
 */
export function defineProtocol<const D extends ProtocolDef>(definition: D): Protocol<D> {
  if (!definition.name) throw new TypeError('protocol name must not be empty');
  if (majorOf(definition.version) === undefined) {
    throw new TypeError(`protocol version "${definition.version}" is not major.minor.patch`);
  }
  const commands = new Map<string, NamedMember>();
  const events = new Map<string, NamedEvent>();
  const wireIds = new Map<string, string>();
  const claimWireId = (space: string, id: number | undefined, name: string) => {
    if (id === undefined) return;
    if (!Number.isInteger(id) || id < 0)
      throw new TypeError(`${name}: wireId must be a non-negative integer`);
    const key = `${space}:${id}`;
    const holder = wireIds.get(key);
    if (holder) throw new TypeError(`${name}: wireId ${id} is already used by ${holder}`);
    wireIds.set(key, name);
  };
  for (const [resource, members] of Object.entries(definition.resources)) {
    if (!MEMBER_NAME.test(resource))
      throw new TypeError(`resource name "${resource}" must match ${MEMBER_NAME}`);
    for (const [member, def] of Object.entries(members.commands ?? {})) {
      if (!MEMBER_NAME.test(member))
        throw new TypeError(`command name "${member}" must match ${MEMBER_NAME}`);
      const name = `${resource}.${member}`;
      claimWireId('command', def.wireId, name);
      commands.set(name, { ...def, name });
    }
    for (const [member, def] of Object.entries(members.events ?? {})) {
      if (!MEMBER_NAME.test(member)) throw new TypeError(`event name "${member}" must match ${MEMBER_NAME}`);
      const name = `${resource}.${member}`;
      claimWireId('event', def.wireId, name);
      events.set(name, { ...def, name });
    }
  }
  const topics = new Map<string, NamedTopic>();
  for (const [resource, members] of Object.entries(definition.resources)) {
    for (const [member, def] of Object.entries(members.topics ?? {})) {
      if (!MEMBER_NAME.test(member)) throw new TypeError(`topic name "${member}" must match ${MEMBER_NAME}`);
      const name = `${resource}.${member}`;
      topics.set(name, { ...def, name, params: patternParams(name, def.pattern) });
    }
  }
  const errors = new Map<string, ErrorDef>();
  const addErrors = (declared: Readonly<Record<string, ErrorDef<any>>> | undefined, where: string) => {
    for (const [code, def] of Object.entries(declared ?? {})) {
      if (!ERROR_CODE.test(code)) throw new TypeError(`error code "${code}" must match ${ERROR_CODE}`);
      if (isBuiltinErrorCode(code))
        throw new TypeError(`error code "${code}" is built in and cannot be redefined`);
      if (errors.has(code)) throw new TypeError(`error code "${code}" of ${where} is already declared`);
      errors.set(code, def);
    }
  };
  addErrors(definition.errors, 'the protocol');
  const services = new Map<string, NamedService>();
  for (const [serviceName, def] of Object.entries(definition.services ?? {})) {
    if (!MEMBER_NAME.test(serviceName))
      throw new TypeError(`service name "${serviceName}" must match ${MEMBER_NAME}`);
    const serviceCommands = new Map<string, NamedMember>();
    for (const [member, command] of Object.entries(def.commands)) {
      if (!MEMBER_NAME.test(member))
        throw new TypeError(`command name "${member}" must match ${MEMBER_NAME}`);
      serviceCommands.set(member, { ...command, name: `${serviceName}.${member}` });
    }
    const serviceEvents = new Map<string, NamedEvent>();
    for (const [member, event] of Object.entries(def.events ?? {})) {
      if (!MEMBER_NAME.test(member)) throw new TypeError(`event name "${member}" must match ${MEMBER_NAME}`);
      serviceEvents.set(member, { ...event, name: `${serviceName}.${member}` });
    }
    addErrors(def.errors, `service ${serviceName}`);
    services.set(serviceName, { name: serviceName, def, commands: serviceCommands, events: serviceEvents });
  }
  return {
    name: definition.name,
    version: definition.version,
    definition,
    commands,
    events,
    topics,
    errors,
    services,
  };
}

const PATTERN_SEGMENT = /^(?:[A-Za-z0-9_-]+|\{[A-Za-z][A-Za-z0-9_]*\})$/;

/** The parameter names of a topic pattern, checked: dotted segments, each a word or a `{param}`. */
function patternParams(name: string, pattern: string): string[] {
  const params: string[] = [];
  for (const segment of pattern.split('.')) {
    if (!PATTERN_SEGMENT.test(segment))
      throw new TypeError(`${name}: bad segment "${segment}" in pattern "${pattern}"`);
    if (segment.startsWith('{')) {
      const param = segment.slice(1, -1);
      if (params.includes(param))
        throw new TypeError(`${name}: parameter "${param}" appears twice in "${pattern}"`);
      params.push(param);
    }
  }
  return params;
}

// ---- Types derived from a protocol: what makes `client.call('jobs.queue', …)` typed without codegen.

type DefOf<P> = P extends Protocol<infer D> ? D : never;
type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void
  ? I
  : never;
type Flatten<Res, Field extends keyof ResourceDef> = UnionToIntersection<
  {
    [R in keyof Res & string]: Res[R] extends { readonly [F in Field]: infer M }
      ? { [C in keyof M & string as `${R}.${C}`]: M[C] }
      : never;
  }[keyof Res & string]
>;

/** Every command and stream of a protocol by dotted name. */
export type CommandsOf<P> = Flatten<DefOf<P>['resources'], 'commands'>;
/** Every event of a protocol by dotted name. */
export type EventsOf<P> = Flatten<DefOf<P>['resources'], 'events'>;

/** Names of request → response commands. */
export type CommandName<P> = {
  [K in keyof CommandsOf<P> & string]: CommandsOf<P>[K] extends CommandDef<any, any> ? K : never;
}[keyof CommandsOf<P> & string];
/** Names of streamed commands. */
export type StreamName<P> = {
  [K in keyof CommandsOf<P> & string]: CommandsOf<P>[K] extends StreamDef<any, any> ? K : never;
}[keyof CommandsOf<P> & string];
export type EventName<P> = keyof EventsOf<P> & string;

type Member<P, K> = K extends keyof CommandsOf<P> ? CommandsOf<P>[K] : never;
/** What the caller passes. */
export type CallInput<P, K> = Member<P, K> extends { input: infer I } ? InputOf<I> : never;
/** What the handler receives after validation. */
export type HandlerInput<P, K> = Member<P, K> extends { input: infer I } ? OutputOf<I> : never;
/** What the caller gets back. */
export type CallOutput<P, K> = Member<P, K> extends CommandDef<any, infer O> ? OutputOf<O> : never;
/** What the handler returns. */
export type HandlerOutput<P, K> = Member<P, K> extends CommandDef<any, infer O> ? InputOf<O> : never;
/** One item of a streamed command, as the caller receives it. */
export type StreamItem<P, K> = Member<P, K> extends StreamDef<any, infer T> ? OutputOf<T> : never;
/** One item of a streamed command, as the handler yields it. */
export type HandlerItem<P, K> = Member<P, K> extends StreamDef<any, infer T> ? InputOf<T> : never;
/** An event's payload. */
export type EventPayload<P, K> = K extends keyof EventsOf<P>
  ? EventsOf<P>[K] extends EventDef<infer S>
    ? OutputOf<S>
    : never
  : never;
/** Every topic of a protocol by dotted name. */
export type TopicsOf<P> = Flatten<DefOf<P>['resources'], 'topics'>;
export type TopicName<P> = keyof TopicsOf<P> & string;
type ParamNames<S extends string> = S extends `${string}{${infer K}}${infer Rest}`
  ? K | ParamNames<Rest>
  : never;
/** The parameters a topic's pattern names, e.g. `{ jobId: string }` for `jobs.{jobId}.logs`. */
export type TopicParams<P, K> = K extends keyof TopicsOf<P>
  ? TopicsOf<P>[K] extends TopicDef<any, infer Pattern>
    ? { readonly [N in ParamNames<Pattern>]: string }
    : never
  : never;
/** A topic's payload as subscribers receive it. */
export type TopicPayload<P, K> = K extends keyof TopicsOf<P>
  ? TopicsOf<P>[K] extends TopicDef<infer S, any>
    ? OutputOf<S>
    : never
  : never;
/** A topic's payload as publishers pass it. */
export type TopicInput<P, K> = K extends keyof TopicsOf<P>
  ? TopicsOf<P>[K] extends TopicDef<infer S, any>
    ? InputOf<S>
    : never
  : never;

/** Codes a call may fail with: the protocol's own and the built-in ones. */
export type ErrorCode<P> = (keyof NonNullable<DefOf<P>['errors']> & string) | BuiltinErrorCode;
/** Codes of the protocol's own errors, the ones handlers may throw. */
export type DomainErrorCode<P> = keyof NonNullable<DefOf<P>['errors']> & string;

// ---- Services: the same derivations, per service definition.

/** The services of a protocol by name. */
export type ServicesOf<P> = DefOf<P> extends { readonly services: infer S } ? S : Record<never, never>;
export type ServiceName<P> = keyof ServicesOf<P> & string;
/** The definition of service `S` of protocol `P`. */
export type ServiceOf<P, S> = S extends keyof ServicesOf<P> ? ServicesOf<P>[S] : never;

type ServiceMember<D, K> = D extends { readonly commands: infer C }
  ? K extends keyof C
    ? C[K]
    : never
  : never;
type ServiceEventDef<D, E> = D extends { readonly events: infer V }
  ? E extends keyof V
    ? V[E]
    : never
  : never;
/** Request → response commands of a service definition. */
export type ServiceCommandName<D> = D extends { readonly commands: infer C }
  ? { [K in keyof C & string]: C[K] extends CommandDef<any, any> ? K : never }[keyof C & string]
  : never;
/** Streamed commands of a service definition. */
export type ServiceStreamName<D> = D extends { readonly commands: infer C }
  ? { [K in keyof C & string]: C[K] extends StreamDef<any, any> ? K : never }[keyof C & string]
  : never;
export type ServiceEventName<D> = D extends { readonly events: infer V } ? keyof V & string : never;
export type ServiceCallInput<D, K> = ServiceMember<D, K> extends { input: infer I } ? InputOf<I> : never;
export type ServiceHandlerInput<D, K> = ServiceMember<D, K> extends { input: infer I } ? OutputOf<I> : never;
export type ServiceCallOutput<D, K> =
  ServiceMember<D, K> extends CommandDef<any, infer O> ? OutputOf<O> : never;
export type ServiceHandlerOutput<D, K> =
  ServiceMember<D, K> extends CommandDef<any, infer O> ? InputOf<O> : never;
export type ServiceStreamItem<D, K> =
  ServiceMember<D, K> extends StreamDef<any, infer T> ? OutputOf<T> : never;
export type ServiceHandlerItem<D, K> =
  ServiceMember<D, K> extends StreamDef<any, infer T> ? InputOf<T> : never;
/** An event's payload as listeners receive it. */
export type ServiceEventPayload<D, E> = ServiceEventDef<D, E> extends EventDef<infer S> ? OutputOf<S> : never;
/** An event's payload as the service emits it. */
export type ServiceEventInput<D, E> = ServiceEventDef<D, E> extends EventDef<infer S> ? InputOf<S> : never;
