// A chat server: one protocol with the chat service, and `chat()` behind it. Used by main.ts and the tests.
import { defineProtocol } from 'switchboard/protocol';
import { type Authenticator, createServer, type Logger, type Server } from 'switchboard/server';
import { chat, chatService } from '../../src/services/chat/index.js';

/** The protocol both ends import: no resources of its own, just the `chat` service. */
export const chatApi = defineProtocol({
  name: 'chat-example',
  version: '1.0.0',
  resources: {},
  services: { chat: chatService },
});

/**
 * Demo only: believes whatever name the client gives. A real server checks a token and puts the
 * user's name and numeric id (goval's `User.id`) in the principal's attributes the same way.
 */
const trustTheName: Authenticator = {
  authenticate: ({ credentials }) => {
    const { name, userId } = (credentials ?? {}) as { name?: unknown; userId?: unknown };
    if (typeof name !== 'string' || name === '') return { ok: false, reason: 'say your name' };
    return {
      ok: true,
      principal: { id: name.toLowerCase(), permissions: ['*'], attributes: { name, userId } },
    };
  },
};

/** Starts a chat server on `port` (0 picks a free one) of 127.0.0.1. */
export function startChatServer(
  options: { port?: number; logger?: Logger } = {},
): Promise<Server<typeof chatApi>> {
  return createServer({
    protocol: chatApi,
    handlers: {},
    services: { chat: chat({ scrollback: 50, maxMessageLength: 500 }) },
    auth: trustTheName,
    port: options.port ?? 0,
    host: '127.0.0.1',
    ...(options.logger ? { logger: options.logger } : {}),
  });
}
