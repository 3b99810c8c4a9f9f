import type { ServiceDef } from '../../../src/protocol/define.js';
import { RequestError } from '../../../src/protocol/errors.js';
import { describeIssues, validate } from '../../../src/protocol/schema.js';
import type { Principal } from '../../../src/server/auth/authenticator.js';
import type {
  ServiceContext,
  ServiceImplementation,
  ServiceInstance,
  Session,
  Target,
} from '../../../src/server/service-types.js';

/** An event as one session received it. */
export interface Received {
  readonly event: string;
  readonly payload: unknown;
}

/** Whether an event sent to `target` reaches session `id` (goval's session field rules). */
export function reaches(target: Target, id: number): boolean {
  if (target === 'all') return true;
  return 'except' in target ? id !== target.except : id === target.only;
}

/**
 * A service instance run by hand, without a server: sessions attach and detach, calls go straight
 * to the handlers (input and output validated as dispatch does), and every event a session would
 * receive is recorded for it. A session is listed from just before `attached` runs.
 */
export class RecordingInstance<D extends ServiceDef, State> implements ServiceInstance<D> {
  readonly sessions = new Map<number, Session>();
  /** Every event delivered, per session id, oldest first; kept after the session detaches. */
  readonly received = new Map<number, Received[]>();
  private nextSession = 2;
  private constructor(
    readonly service: string,
    readonly name: string,
    private readonly def: D,
    private readonly implementation: ServiceImplementation<D, State>,
    private readonly detaching: 'unlisted' | 'listed',
  ) {}
  state!: State;

  /**
   * Creates the instance's state. A session is listed in `sessions` while `attached` runs (else
   * nothing could reach it); `detaching: 'listed'` runs `detached` before the session is unlisted
   * rather than after, to prove a service does not depend on either order.
   */
  static async create<D extends ServiceDef, State>(
    def: D,
    implementation: ServiceImplementation<D, State>,
    options: { service?: string; name?: string; detaching?: 'unlisted' | 'listed' } = {},
  ): Promise<RecordingInstance<D, State>> {
    const instance = new RecordingInstance(
      options.service ?? 'chat',
      options.name ?? 'general',
      def,
      implementation,
      options.detaching ?? 'unlisted',
    );
    instance.state = await implementation.create(instance);
    return instance;
  }

  emit(event: string, payload: unknown, target: Target = 'all'): void {
    const schema = this.def.events?.[event]?.payload;
    if (!schema) throw new TypeError(`no event "${event}"`);
    const checked = validate(schema, payload);
    if (checked instanceof Promise) throw new TypeError('async event schemas are not supported here');
    if (!checked.ok) throw new TypeError(`event ${event}: ${describeIssues(checked.issues)}`);
    for (const id of this.sessions.keys()) {
      if (reaches(target, id)) this.received.get(id)?.push({ event, payload });
    }
  }

  async attach(principal: Principal): Promise<Session> {
    const id = this.nextSession++;
    const session: Session = { id, principal, connectionId: `connection-${id}`, channel: 1 };
    this.received.set(id, []);
    this.sessions.set(id, session);
    await this.implementation.attached?.({ state: this.state, instance: this, session });
    return session;
  }

  async detach(id: number): Promise<void> {
    const session = this.sessions.get(id);
    if (!session) throw new TypeError(`no session ${id}`);
    const hook = { state: this.state, instance: this, session };
    if (this.detaching === 'unlisted') {
      this.sessions.delete(id);
      await this.implementation.detached?.(hook);
    } else {
      await this.implementation.detached?.(hook);
      this.sessions.delete(id);
    }
  }

  /** Calls a command as session `id`; a bad input or a `fail` throws the RequestError dispatch would send. */
  async call(id: number, command: string, input: unknown): Promise<unknown> {
    const session = this.sessions.get(id);
    if (!session) throw new TypeError(`no session ${id}`);
    const def = this.def.commands[command];
    const handler = (this.implementation.handlers as Record<string, unknown>)[command];
    if (!def || typeof handler !== 'function') throw new RequestError('UNKNOWN_COMMAND');
    const parsed = await validate(def.input, input);
    if (!parsed.ok) throw new RequestError('INVALID_INPUT', describeIssues(parsed.issues));
    const ctx: ServiceContext<D, State> = {
      state: this.state,
      instance: this,
      session,
      principal: session.principal,
      signal: new AbortController().signal,
      locals: {},
      fail: (code, message, data) => {
        throw new RequestError(code, message, data);
      },
    };
    const output = await (handler as (input: unknown, ctx: unknown) => unknown)(parsed.value, ctx);
    if (def.kind === 'command') {
      const checked = await validate(def.output, output);
      if (!checked.ok) throw new TypeError(`${command} output: ${describeIssues(checked.issues)}`);
    }
    return output;
  }

  /** What session `id` received since the last `take` for it. */
  take(id: number): Received[] {
    const received = this.received.get(id) ?? [];
    return received.splice(0);
  }

  async dispose(): Promise<void> {
    await this.implementation.dispose?.(this.state, this);
  }
}

/** A principal named `name`, with goval's numeric user id in its attributes. */
export function person(name: string, userId: number, roles: string[] = []): Principal {
  return { id: name.toLowerCase(), permissions: ['*'], attributes: { userId, name, roles } };
}
