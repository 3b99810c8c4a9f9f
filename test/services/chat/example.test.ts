import { afterEach, expect, test } from 'vitest';
import { conversation } from '../../../examples/chat/conversation.js';
import { startChatServer } from '../../../examples/chat/server.js';
import { silentLogger } from '../../../src/server/index.js';

let stop: (() => Promise<void>) | undefined;
afterEach(() => stop?.());

test('the chat example runs as written over a real socket: Ada and Bob see exactly this', async () => {
  const server = await startChatServer({ logger: silentLogger });
  stop = () => server.close();
  expect(await conversation(server.url)).toEqual([
    'Ada sees: Bob joined (session 3)',
    'Bob reads the scrollback: Ada: hello, anyone?',
    'Ada sees: Bob is typing',
    'Ada sees: Bob: hi Ada!',
    'Ada sees: Bob stopped typing',
    'Bob sees: Ada: hi Bob, welcome',
    'Bob is told: CHAT_MESSAGE_TOO_LONG (501 > 500)',
    'Ada sees: Bob left',
  ]);
});
