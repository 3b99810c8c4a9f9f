import { RequestError } from '../../../src/protocol/errors.js';
import type { Principal } from '../../../src/server/auth/authenticator.js';
import type {
  ServiceContext,
  ServiceImplementation,
  ServiceInstance,
  Session,
  SessionContext,
  Target,
} from '../../../src/server/service-types.js';
import type { OtState, otService } from '../../../src/services/ot/index.js';

type Def = typeof otService;

/** An event as one session received it. */
export interface Received {
  readonly event: string;
  readonly payload: unknown;
}

/**
 * A service instance without a server, for unit tests of the handlers until they run over the
 * runtime: sessions attach and detach, `emit` honours goval's targets into per-session inboxes.
 */
export async function fakeInstance(implementation: ServiceImplementation<Def, OtState>, name = 'doc') {
  const sessions = new Map<number, Session>();
  const inboxes = new Map<number, Received[]>();
  const instance: ServiceInstance<Def> = {
    service: 'ot',
    name,
    sessions,
    emit(event, payload, target: Target = 'all') {
      for (const id of sessions.keys()) {
        if (target !== 'all' && 'except' in target && target.except === id) continue;
        if (target !== 'all' && 'only' in target && target.only !== id) continue;
        inboxes.get(id)?.push({ event, payload });
      }
    },
  };
  const state = await implementation.create(instance);
  let nextSession = 2;

  const attach = async (principal: Principal) => {
    const session: Session = { id: nextSession++, principal, connectionId: `c${nextSession}`, channel: 1 };
    sessions.set(session.id, session);
    inboxes.set(session.id, []);
    const hook: SessionContext<Def, OtState> = { state, instance, session };
    await implementation.attached?.(hook);
    const ctx: ServiceContext<Def, OtState> = {
      state,
      instance,
      session,
      principal,
      signal: new AbortController().signal,
      locals: {},
      fail(code, message, data) {
        throw new RequestError(code, message, data);
      },
    };
    const handlers = implementation.handlers;
    // Async wrappers: a handler that throws synchronously rejects, as it does behind the runtime.
    return {
      session,
      /** Events this session received so far (taken out). */
      take: () => (inboxes.get(session.id) ?? []).splice(0),
      link: async (input: { path?: string }) => handlers.link(input, ctx),
      apply: async (input: Parameters<typeof handlers.apply>[0]) => handlers.apply(input, ctx),
      fetch: async (input: Parameters<typeof handlers.fetch>[0]) => handlers.fetch(input, ctx),
      status: async () => handlers.status({}, ctx),
      flush: async () => handlers.flush({}, ctx),
      cursor: async (input: Parameters<typeof handlers.cursor>[0]) => handlers.cursor(input, ctx),
      deleteCursor: async (input: Parameters<typeof handlers.deleteCursor>[0]) =>
        handlers.deleteCursor(input, ctx),
      detach: async () => {
        sessions.delete(session.id);
        await implementation.detached?.(hook);
        inboxes.delete(session.id);
      },
    };
  };
  return { instance, state, attach };
}

/** A principal with the attributes goval's `User` is made from. */
export function person(id: string, name: string, userId?: number): Principal {
  return {
    id,
    permissions: [],
    attributes: { name, ...(userId === undefined ? {} : { userId: String(userId) }) },
  };
}
