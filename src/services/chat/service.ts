import { z } from 'zod';
import { command, error, event, service } from '../../protocol/define.js';
import { User } from './user.js';

/** One chat line: who wrote it (their `User.name`) and what. goval's `ChatMessage`. */
export const ChatMessage = z.object({ username: z.string(), text: z.string() });
export type ChatMessage = z.infer<typeof ChatMessage>;

/** Someone started or stopped typing. goval's `ChatTyping`. */
export const ChatTyping = z.object({ username: z.string(), typing: z.boolean() });
export type ChatTyping = z.infer<typeof ChatTyping>;

/** The messages a room remembers, oldest first. goval's `ChatScrollback`. */
export const ChatScrollback = z.object({ messages: z.array(ChatMessage) });
export type ChatScrollback = z.infer<typeof ChatScrollback>;

/** Everyone attached to a room, one entry per session, by session id. goval's `Roster`. */
export const Roster = z.object({ users: z.array(User) });
export type Roster = z.infer<typeof Roster>;

/** Error codes of the chat service. */
export const CHAT_ERRORS = {
  /** The text is longer than the room's `maxMessageLength` (in Unicode code points). */
  CHAT_MESSAGE_TOO_LONG: error(
    'Message too long',
    z.object({ length: z.number().int(), max: z.number().int() }),
  ),
} as const;

/**
 * The chat service (goval's `chat`): messages with a bounded scrollback, typing indicators, and a
 * roster with join and part. Open a channel on it by room name; every channel on the same name is
 * the same room.
 *
 * - `send {text}` → null: `message` goes to every other session and the text joins the scrollback.
 * - `typing {typing}` → null: `typing` goes to every other session.
 * - `scrollback {}` → `{messages}`.
 * - On attach the new session gets `scrollback`, then `roster`; the others get `join`.
 *   On detach the others get `part`.
 *
 * @example
 * const protocol = defineProtocol({ name: 'app', version: '1.0.0', resources: {}, services: { chat: chatService } });
 */
export const chatService = service({
  description: 'Messages with scrollback, typing indicators, and the roster with join and part.',
  commands: {
    send: command({
      // The upper bound is the room's `maxMessageLength`, checked by the handler so it can be
      // configured per server and refused with CHAT_MESSAGE_TOO_LONG.
      input: z.object({ text: z.string().min(1) }),
      output: z.null(),
      description: 'Sends a message to everyone else in the room and keeps it in the scrollback.',
    }),
    typing: command({
      input: z.object({ typing: z.boolean() }),
      output: z.null(),
      description: 'Tells everyone else in the room that the caller started or stopped typing.',
    }),
    scrollback: command({
      input: z.object({}),
      output: ChatScrollback,
      description: 'The messages the room remembers, oldest first.',
    }),
  },
  events: {
    message: event(ChatMessage, { description: 'A message from another session.' }),
    typing: event(ChatTyping, { description: 'Another session started or stopped typing.' }),
    scrollback: event(ChatScrollback, { description: 'Sent to a session when it attaches, before roster.' }),
    roster: event(Roster, { description: 'Sent to a session when it attaches: every attached session.' }),
    join: event(User, { description: 'Another session attached.' }),
    part: event(User, { description: 'Another session detached.' }),
  },
  errors: CHAT_ERRORS,
});

/** The chat service's definition type, for `ServiceImplementation<ChatService, …>`. */
export type ChatService = typeof chatService;
