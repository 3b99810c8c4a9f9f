import { create } from '@bufbuild/protobuf';
import { ChatMessageSchema, ChatScrollbackSchema, ChatTypingSchema, RosterSchema } from '../gen/api_pb.js';
import type { GovalServiceMapping } from '../mapping.js';
import { array, okBody, record, string, userToGoval } from '../values.js';

/**
 * The chat service over goval: `chatMessage` is `send` one way and the `message` event the other,
 * `chatTyping` likewise `typing`; `chatScrollback` asks for and carries the scrollback; `roster`,
 * `join` and `part` are presence. A client's `username` is not trusted: the server names the sender.
 */
export const chatMapping: GovalServiceMapping = {
  requests: {
    chatMessage: (message) => ({ command: 'send', input: { text: message.text } }),
    chatTyping: (typing) => ({ command: 'typing', input: { typing: typing.typing } }),
    chatScrollback: () => ({ command: 'scrollback', input: {} }),
  },
  results: {
    send: okBody,
    typing: okBody,
    scrollback: (output) => scrollback(output, 'chat.scrollback output'),
  },
  events: {
    message: (payload) => ({ case: 'chatMessage', value: chatMessage(payload, 'chat.message') }),
    typing: (payload) => {
      const typing = record(payload, 'chat.typing');
      if (typeof typing.typing !== 'boolean')
        throw new TypeError('goval: chat.typing.typing must be a boolean');
      return {
        case: 'chatTyping',
        value: create(ChatTypingSchema, {
          username: string(typing.username, 'chat.typing.username'),
          typing: typing.typing,
        }),
      };
    },
    scrollback: (payload) => scrollback(payload, 'chat.scrollback'),
    roster: (payload) => ({
      case: 'roster',
      value: create(RosterSchema, {
        user: array(record(payload, 'chat.roster').users, 'chat.roster.users').map(userToGoval),
      }),
    }),
    join: (payload) => ({ case: 'join', value: userToGoval(payload) }),
    part: (payload) => ({ case: 'part', value: userToGoval(payload) }),
  },
};

function chatMessage(value: unknown, what: string) {
  const message = record(value, what);
  return create(ChatMessageSchema, {
    username: string(message.username, `${what}.username`),
    text: string(message.text, `${what}.text`),
  });
}

function scrollback(value: unknown, what: string) {
  const messages = array(record(value, what).messages, `${what}.messages`);
  return {
    case: 'chatScrollback' as const,
    value: create(ChatScrollbackSchema, {
      scrollback: messages.map((message) => chatMessage(message, `${what}.messages[]`)),
    }),
  };
}
