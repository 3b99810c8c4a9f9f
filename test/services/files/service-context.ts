import type { ServiceDef } from '../../../src/protocol/define.js';
import { RequestError } from '../../../src/protocol/errors.js';
import type { Principal } from '../../../src/server/auth/authenticator.js';
import type {
  ServiceContext,
  ServiceImplementation,
  ServiceInstance,
  Session,
  Target,
} from '../../../src/server/service-types.js';

/** An event a service emitted, as the instance saw it. */
export interface Emitted {
  readonly event: string;
  readonly payload: unknown;
  readonly target: Target;
}

/**
 * A service instance without a server: it records what the service emits, and makes contexts for
 * its sessions, so handlers can be called directly.
 */
export class LocalInstance<D extends ServiceDef, State> {
  readonly emitted: Emitted[] = [];
  readonly sessions = new Map<number, Session>();
  readonly instance: ServiceInstance<D>;
  state!: State;

  constructor(
    readonly implementation: ServiceImplementation<D, State>,
    name = 'main',
    service = 'files',
  ) {
    const emitted = this.emitted;
    this.instance = {
      service,
      name,
      sessions: this.sessions,
      emit: (event, payload, target = 'all') => {
        emitted.push({ event, payload, target });
      },
    };
  }

  static async start<D extends ServiceDef, State>(
    implementation: ServiceImplementation<D, State>,
    name?: string,
  ): Promise<LocalInstance<D, State>> {
    const local = new LocalInstance(implementation, name);
    local.state = await implementation.create(local.instance);
    return local;
  }

  /** Attaches a session (ids from 2, as the server numbers them). */
  async attach(id = this.sessions.size + 2): Promise<Session> {
    const principal: Principal = { id: `user-${id}`, permissions: ['*'] } as Principal;
    const session: Session = { id, principal, connectionId: `connection-${id}`, channel: 1 };
    this.sessions.set(id, session);
    await this.implementation.attached?.({ state: this.state, instance: this.instance, session });
    return session;
  }

  async detach(session: Session): Promise<void> {
    this.sessions.delete(session.id);
    await this.implementation.detached?.({ state: this.state, instance: this.instance, session });
  }

  /** A handler context for a session, with an optional signal to cancel with. */
  context(session: Session, signal: AbortSignal = new AbortController().signal): ServiceContext<D, State> {
    return {
      state: this.state,
      instance: this.instance,
      session,
      principal: session.principal,
      signal,
      locals: {},
      fail(code: string, message?: string, data?: unknown): never {
        throw new RequestError(code, message, data);
      },
    };
  }
}

/** The request error a promise rejects with, or a failure if it resolves. */
export async function rejection(promise: unknown): Promise<RequestError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof RequestError) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}
