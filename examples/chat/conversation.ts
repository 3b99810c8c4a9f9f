// Two people talking in room `general`; every line either of them sees goes into the transcript.
import { type Channel, createClient } from 'switchboard/client';
import type { CallError, ServiceEventPayload } from 'switchboard/protocol';
import type { ChatService } from '../../src/services/chat/index.js';
import { chatApi } from './server.js';

/** Resolves with the next `event` on `channel`; rejects after `timeoutMs` (wait on events, never sleep). */
function next<E extends 'message' | 'typing' | 'join' | 'part'>(
  channel: Channel<ChatService>,
  event: E,
  timeoutMs = 2000,
): Promise<ServiceEventPayload<ChatService, E>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`no ${event} within ${timeoutMs} ms`));
    }, timeoutMs);
    const stop = channel.on(event, (payload) => {
      clearTimeout(timer);
      stop();
      resolve(payload);
    });
  });
}

/** Ada and Bob meet in `general`; returns what each of them saw, in order. */
export async function conversation(url: string): Promise<string[]> {
  const transcript: string[] = [];
  const ada = createClient({ protocol: chatApi, url, credentials: { name: 'Ada', userId: 1 } });
  const bob = createClient({ protocol: chatApi, url, credentials: { name: 'Bob', userId: 2 } });
  try {
    const adaRoom = await ada.openChannel('chat', { name: 'general' });
    await adaRoom.call('send', { text: 'hello, anyone?' }); // nobody hears it, but the room remembers

    const bobJoins = next(adaRoom, 'join');
    const bobRoom = await bob.openChannel('chat', { name: 'general' });
    const joined = await bobJoins;
    transcript.push(`Ada sees: ${joined.name} joined (session ${joined.session})`);
    const { messages } = await bobRoom.call('scrollback', {});
    for (const m of messages) transcript.push(`Bob reads the scrollback: ${m.username}: ${m.text}`);

    const typing = next(adaRoom, 'typing');
    await bobRoom.call('typing', { typing: true });
    transcript.push(`Ada sees: ${(await typing).username} is typing`);
    const fromBob = next(adaRoom, 'message');
    const stopped = next(adaRoom, 'typing');
    await bobRoom.call('send', { text: 'hi Ada!' });
    await bobRoom.call('typing', { typing: false });
    const message = await fromBob;
    transcript.push(`Ada sees: ${message.username}: ${message.text}`);
    transcript.push(`Ada sees: ${(await stopped).username} stopped typing`);

    const fromAda = next(bobRoom, 'message');
    await adaRoom.call('send', { text: 'hi Bob, welcome' });
    const reply = await fromAda;
    transcript.push(`Bob sees: ${reply.username}: ${reply.text}`);

    const tooLong: CallError = await bobRoom.call('send', { text: 'x'.repeat(501) }).catch((error) => error);
    const limit = tooLong.data as { length: number; max: number };
    transcript.push(`Bob is told: ${tooLong.code} (${limit.length} > ${limit.max})`);

    const bobLeaves = next(adaRoom, 'part');
    await bobRoom.close();
    transcript.push(`Ada sees: ${(await bobLeaves).name} left`);
    return transcript;
  } finally {
    ada.close();
    bob.close();
  }
}
