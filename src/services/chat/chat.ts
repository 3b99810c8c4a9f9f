import type { ServiceImplementation, ServiceInstance } from '../../server/service-types.js';
import { Scrollback } from './scrollback.js';
import type { ChatMessage, ChatService } from './service.js';
import { type User, userOf } from './user.js';

/** The defaults of `chat()`'s options. */
export const CHAT_DEFAULTS = {
  /** Messages a room remembers; older ones are forgotten. */
  scrollback: 100,
  /** Longest message, in Unicode code points. */
  maxMessageLength: 4096,
  /** A session that said `typing: true` and then nothing for this long is told to the room as stopped. */
  typingTimeoutMs: 5000,
} as const;

/** How a chat server behaves; every field defaults to `CHAT_DEFAULTS`. */
export interface ChatOptions {
  readonly scrollback?: number;
  readonly maxMessageLength?: number;
  readonly typingTimeoutMs?: number;
}

/** The longest delay `setTimeout` honours; a longer one fires at once. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/**
 * One room's state: its scrollback and who is typing. One per service instance, so one per
 * channel name: channels opened on `general` share a room, `random` is another.
 */
export class ChatRoom {
  readonly scrollback: Scrollback<ChatMessage>;
  /** Sessions that said `typing: true` and have not stopped, with the name they typed as. */
  private readonly typists = new Map<number, { username: string; timer: ReturnType<typeof setTimeout> }>();

  constructor(
    private readonly instance: ServiceInstance<ChatService>,
    readonly options: Required<ChatOptions>,
  ) {
    this.scrollback = new Scrollback(options.scrollback);
  }

  /** Session ids currently typing, in the order they started. */
  get typing(): number[] {
    return [...this.typists.keys()];
  }

  /** Marks a session as typing, (re)starting its timeout; when it runs out the others hear it stopped. */
  startTyping(session: number, username: string): void {
    this.stopTyping(session);
    const timer = setTimeout(() => {
      this.typists.delete(session);
      this.instance.emit('typing', { username, typing: false }, { except: session });
    }, this.options.typingTimeoutMs);
    // A forgotten indicator must not keep the process alive.
    timer.unref?.();
    this.typists.set(session, { username, timer });
  }

  /** Forgets that a session was typing; returns the name it typed as, if it was. */
  stopTyping(session: number): string | undefined {
    const typist = this.typists.get(session);
    if (!typist) return undefined;
    clearTimeout(typist.timer);
    this.typists.delete(session);
    return typist.username;
  }

  /** Everyone attached, one entry per session, by session id. */
  roster(): User[] {
    return [...this.instance.sessions.values()]
      .map((session) => userOf(session.principal, session.id))
      .sort((a, b) => a.session - b.session);
  }

  /** Cancels every typing timeout: a room that is gone says nothing more. */
  dispose(): void {
    for (const session of this.typing) this.stopTyping(session);
  }
}

/** The number of Unicode code points in `text` (a surrogate pair counts once). */
function codePoints(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

function checkOption(
  name: keyof ChatOptions,
  value: number,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (!Number.isInteger(value) || value < min || value > max)
    throw new TypeError(`chat: ${name} must be an integer from ${min} to ${max}, got ${value}`);
  return value;
}

/**
 * The chat service's implementation: give it to `createServer({ services: { chat: chat() } })`.
 * Rooms are instances: each channel name gets its own scrollback and roster, and a room is gone
 * (scrollback too) once its last session leaves. Throws a TypeError for an option out of range.
 *
 * @example
 * createServer({ protocol, handlers, services: { chat: chat({ scrollback: 500, maxMessageLength: 1000 }) } });
 */
export function chat(options: ChatOptions = {}): ServiceImplementation<ChatService, ChatRoom> {
  const settings: Required<ChatOptions> = {
    scrollback: checkOption('scrollback', options.scrollback ?? CHAT_DEFAULTS.scrollback, 0),
    maxMessageLength: checkOption(
      'maxMessageLength',
      options.maxMessageLength ?? CHAT_DEFAULTS.maxMessageLength,
      1,
    ),
    typingTimeoutMs: checkOption(
      'typingTimeoutMs',
      options.typingTimeoutMs ?? CHAT_DEFAULTS.typingTimeoutMs,
      1,
      MAX_TIMEOUT_MS,
    ),
  };
  return {
    create: (instance) => new ChatRoom(instance, settings),
    handlers: {
      send: ({ text }, ctx) => {
        // Code points never outnumber UTF-16 units, so short texts skip the count.
        const length = text.length <= settings.maxMessageLength ? 0 : codePoints(text);
        if (length > settings.maxMessageLength) {
          ctx.fail(
            'CHAT_MESSAGE_TOO_LONG',
            `message is ${length} code points, more than ${settings.maxMessageLength}`,
            { length, max: settings.maxMessageLength },
          );
        }
        const message = { username: userOf(ctx.principal, ctx.session.id).name, text };
        ctx.state.scrollback.append(message);
        ctx.instance.emit('message', message, { except: ctx.session.id });
        return null;
      },
      typing: ({ typing }, ctx) => {
        const username = userOf(ctx.principal, ctx.session.id).name;
        if (typing) ctx.state.startTyping(ctx.session.id, username);
        else ctx.state.stopTyping(ctx.session.id);
        ctx.instance.emit('typing', { username, typing }, { except: ctx.session.id });
        return null;
      },
      scrollback: (_input, ctx) => ({ messages: ctx.state.scrollback.items() }),
    },
    attached: ({ state, instance, session }) => {
      const user = userOf(session.principal, session.id);
      instance.emit('scrollback', { messages: state.scrollback.items() }, { only: session.id });
      instance.emit('roster', { users: state.roster() }, { only: session.id });
      instance.emit('join', user, { except: session.id });
    },
    detached: ({ state, instance, session }) => {
      // Nobody else would ever hear this session stop typing.
      const typedAs = state.stopTyping(session.id);
      if (typedAs !== undefined)
        instance.emit('typing', { username: typedAs, typing: false }, { except: session.id });
      instance.emit('part', userOf(session.principal, session.id), { except: session.id });
    },
    dispose: (state) => state.dispose(),
  };
}
