import { randomUUID } from 'node:crypto';
import type { NamedMember, NamedService, ServiceDef } from '../protocol/define.js';
import { RequestError } from '../protocol/errors.js';
import { normalisePermissions } from '../protocol/permissions.js';
import type { CallId, CloseAction, CloseChannel, OpenChannel } from '../wire/message.js';
import type { Connection } from './connection.js';
import { toErrorMessage } from './errors.js';
import type { CallLocals } from './middleware.js';
import type { Route, Runtime } from './runtime.js';
import type { ServiceImplementation, ServiceInstance, Session, Target } from './service-types.js';

/** Session ids start here: goval reserves 0 ("all sessions") and 1 (internal). */
const FIRST_SESSION = 2;

/** One running service instance: its state and who is attached (internal to the server). */
export class RunningInstance implements ServiceInstance {
  readonly sessions = new Map<number, Session>();
  /** Connections attached, with the channel each uses: where events go. */
  readonly attached = new Map<number, { connection: Connection; channel: number }>();
  state: unknown;
  /** Resolves once `create` finished; attaches wait for it. */
  ready!: Promise<void>;
  private nextSession = FIRST_SESSION;

  constructor(
    readonly hub: ChannelHub,
    readonly service: string,
    readonly name: string,
    readonly named: NamedService,
    readonly implementation: ServiceImplementation<ServiceDef, unknown>,
  ) {}

  newSessionId(): number {
    return this.nextSession++;
  }

  emit(event: string, payload: unknown, target: Target = 'all'): void {
    const def = this.named.events.get(event);
    if (!def) throw new TypeError(`service ${this.service} has no event "${event}"`);
    const session = target === 'all' ? 0 : 'except' in target ? -target.except : target.only;
    for (const [id, { connection, channel }] of this.attached) {
      if (target !== 'all' && ('except' in target ? id === target.except : id !== target.only)) continue;
      connection.send({ type: 'event', event: def.name, payload, channel, session });
    }
  }
}

/**
 * Channels and service instances (goval's model): instances keyed by service and name, shared by every
 * channel opened on that name; channel numbers per connection; sessions per attachment. Owns the
 * lifecycle: create on first open, dispose when the last session leaves, detach on disconnect.
 */
export class ChannelHub {
  private readonly instances = new Map<string, RunningInstance>();

  constructor(
    private readonly runtime: Runtime,
    private readonly implementations: Readonly<Record<string, ServiceImplementation<ServiceDef, unknown>>>,
  ) {
    for (const name of Object.keys(implementations)) {
      if (!runtime.protocol.services.has(name))
        throw new TypeError(`services.${name}: the protocol declares no service "${name}"`);
    }
  }

  /** Answers an `open`: attaches the connection to an instance, creating it as `action` allows. */
  async open(connection: Connection, message: OpenChannel): Promise<void> {
    try {
      const { reply, attached } = await this.attach(connection, message);
      // The reply goes before anything the hook emits, as goval's openChanRes precedes channel traffic.
      connection.send({ type: 'opened', id: message.id, ...reply });
      attached();
    } catch (error) {
      connection.send(
        toErrorMessage(this.runtime, error, message.id, {
          connectionId: connection.id,
          command: `${message.service}.$open`,
        }),
      );
    }
  }

  /** Answers a `closeChannel` with goval's statuses. */
  async close(connection: Connection, message: CloseChannel): Promise<void> {
    const binding = connection.channels.get(message.channel);
    if (!binding) {
      connection.send({ type: 'channelClosed', id: message.id, channel: message.channel, status: 'nothing' });
      return;
    }
    const status = await this.leave(connection, message.channel, message.action, message.id);
    connection.send({ type: 'channelClosed', id: message.id, channel: message.channel, status });
  }

  /** The route of a command on one of the connection's channels, or why there is none. */
  route(connection: Connection, channel: number, command: string): Route | RequestError {
    const binding = connection.channels.get(channel);
    if (!binding)
      return new RequestError('CHANNEL_NOT_FOUND', `no channel ${channel} is open on this connection`);
    return (
      binding.routes.get(command) ??
      new RequestError(
        'UNKNOWN_COMMAND',
        `service ${binding.instance.service} has no command ${JSON.stringify(command).slice(0, 140)}`,
      )
    );
  }

  /** Detaches of closed connections still running: `settled()` waits for them. */
  private readonly leaving = new Set<Promise<void>>();

  /** Resolves once every closed connection's sessions have detached and emptied instances are disposed. */
  async settled(): Promise<void> {
    while (this.leaving.size > 0) await Promise.all([...this.leaving]);
  }

  /** A closed connection leaves every instance it was attached to. */
  disconnect(connection: Connection): Promise<void> {
    const leaving = this.detachAll(connection).finally(() => this.leaving.delete(leaving));
    this.leaving.add(leaving);
    return leaving;
  }

  private async detachAll(connection: Connection): Promise<void> {
    for (const channel of [...connection.channels.keys()]) {
      await this.leave(connection, channel, 'disconnect', undefined).catch((error) =>
        this.runtime.logger.error('a service failed to detach a session', {
          connectionId: connection.id,
          error,
        }),
      );
    }
  }

  private async attach(connection: Connection, message: OpenChannel) {
    const named = this.runtime.protocol.services.get(message.service);
    const implementation = this.implementations[message.service];
    if (!named || !implementation)
      throw new RequestError(
        'UNKNOWN_SERVICE',
        `no service ${JSON.stringify(message.service).slice(0, 140)}`,
      );
    if (connection.channels.size >= this.runtime.limits.maxChannels)
      throw new RequestError(
        'TOO_MANY_CHANNELS',
        `at most ${this.runtime.limits.maxChannels} channels per connection`,
      );
    const name = message.name || `${message.service}-${randomUUID()}`;
    const key = instanceKey(message.service, name);
    let instance = this.instances.get(key);
    if (instance && message.action === 'create')
      throw new RequestError(
        'CHANNEL_EXISTS',
        `a ${message.service} channel named "${name}" is already open`,
      );
    if (!instance && message.action === 'attach')
      throw new RequestError('CHANNEL_NOT_FOUND', `no ${message.service} channel named "${name}" is open`);
    let state: 'created' | 'attached' = 'attached';
    if (!instance) {
      const created = new RunningInstance(this, message.service, name, named, implementation);
      instance = created;
      state = 'created';
      this.instances.set(key, created);
      created.ready = Promise.resolve(implementation.create(created)).then((value) => {
        created.state = value;
      });
      created.ready.catch(() => this.instances.get(key) === created && this.instances.delete(key));
    }
    await instance.ready;
    const channel = connection.nextChannel++;
    const session: Session = {
      id: instance.newSessionId(),
      principal: connection.principal,
      connectionId: connection.id,
      channel,
    };
    instance.sessions.set(session.id, session);
    instance.attached.set(session.id, { connection, channel });
    connection.channels.set(channel, { instance, session, routes: this.routesFor(instance, session) });
    const attached = () => {
      if (!instance.sessions.has(session.id)) return;
      Promise.resolve(implementation.attached?.({ state: instance.state, instance, session })).catch(
        (error) =>
          this.runtime.logger.error('a service failed to attach a session', {
            connectionId: connection.id,
            error,
          }),
      );
    };
    return { reply: { channel, session: session.id, state }, attached };
  }

  private async leave(
    connection: Connection,
    channel: number,
    action: CloseAction,
    _id: CallId | undefined,
  ): Promise<'disconnect' | 'close' | 'nothing'> {
    const binding = connection.channels.get(channel);
    if (!binding) return 'nothing';
    const { instance, session } = binding;
    const othersAttached = instance.sessions.size > 1;
    if (action === 'tryClose' && othersAttached) action = 'disconnect';
    if (action === 'close') {
      // Everyone else is told their channel closed, then the instance goes.
      for (const [id, other] of [...instance.attached]) {
        if (id === session.id) continue;
        await this.detach(other.connection, other.channel);
        other.connection.send({ type: 'channelClosed', channel: other.channel, status: 'close' });
      }
    }
    await this.detach(connection, channel);
    return action === 'disconnect' && othersAttached ? 'disconnect' : 'close';
  }

  /** Removes one session; disposes of the instance when it was the last. */
  private async detach(connection: Connection, channel: number): Promise<void> {
    const binding = connection.channels.get(channel);
    if (!binding) return;
    connection.channels.delete(channel);
    const { instance, session } = binding;
    instance.sessions.delete(session.id);
    instance.attached.delete(session.id);
    // Calls still running on the channel end with it.
    for (const control of connection.channelCalls(channel)) {
      control.abort(new RequestError('CHANNEL_CLOSED', `channel ${channel} was closed`));
    }
    await instance.implementation.detached?.({ state: instance.state, instance, session });
    if (instance.sessions.size > 0) return;
    const key = instanceKey(instance.service, instance.name);
    if (this.instances.get(key) === instance) this.instances.delete(key);
    await instance.implementation.dispose?.(instance.state, instance);
  }

  /** Routes of a service bound to one session: the handlers get the service context. */
  private routesFor(instance: RunningInstance, session: Session): Map<string, Route> {
    const routes = new Map<string, Route>();
    const handlers = instance.implementation.handlers as Record<
      string,
      ((input: unknown, ctx: unknown) => unknown) | undefined
    >;
    for (const [local, def] of instance.named.commands) {
      const handler = handlers[local];
      if (!handler) continue;
      routes.set(local, {
        def: def as NamedMember,
        permissions: normalisePermissions(def.permission),
        handler: (
          input,
          ctx: { signal: AbortSignal; principal: Session['principal']; fail: never; locals: CallLocals },
        ) =>
          handler(input, {
            get state() {
              return instance.state;
            },
            instance,
            session,
            principal: ctx.principal,
            get signal() {
              return ctx.signal;
            },
            fail: ctx.fail,
            get locals() {
              return ctx.locals;
            },
          }),
      });
    }
    return routes;
  }
}

/** What a connection keeps per open channel. */
export interface ChannelBinding {
  readonly instance: RunningInstance;
  readonly session: Session;
  readonly routes: ReadonlyMap<string, Route>;
}

/** Instances are found by service and name; NUL cannot appear in a service name. */
function instanceKey(service: string, name: string): string {
  return `${service}\u0000${name}`;
}
