import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { chat, chatService, type User, userOf } from '../../../src/services/chat/index.js';
import { person, RecordingInstance } from './recording-instance.js';

const people = [person('Ada', 1), person('Bob', 2, ['mod']), person('Cy', 3)];

type Step =
  | { kind: 'attach'; who: number }
  | { kind: 'detach'; pick: number }
  | { kind: 'send'; pick: number; text: string }
  | { kind: 'typing'; pick: number; typing: boolean };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('attach' as const), who: fc.nat(people.length - 1) }),
  fc.record({ kind: fc.constant('detach' as const), pick: fc.nat() }),
  fc.record({
    kind: fc.constant('send' as const),
    pick: fc.nat(),
    text: fc.string({ minLength: 1, maxLength: 8 }),
  }),
  fc.record({ kind: fc.constant('typing' as const), pick: fc.nat(), typing: fc.boolean() }),
);

/** What one session believes: the roster it was sent, then every join and part applied in order. */
function rosterView(received: { event: string; payload: unknown }[]): Map<number, User> {
  const view = new Map<number, User>();
  for (const { event, payload } of received) {
    if (event === 'roster')
      for (const user of (payload as { users: User[] }).users) view.set(user.session, user);
    if (event === 'join') view.set((payload as User).session, payload as User);
    if (event === 'part') view.delete((payload as User).session);
  }
  return view;
}

describe('every session’s view of the room', () => {
  test('for any attaches, detaches, sends and typing, each attached session’s roster view is the instance’s sessions, and it got exactly the others’ messages sent while it was there', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(step, { maxLength: 40 }),
        fc.constantFrom('unlisted' as const, 'listed' as const),
        fc.nat(5),
        async (steps, detaching, scrollback) => {
          const room = await RecordingInstance.create(chatService, chat({ scrollback }), { detaching });
          const all = new Map<number, { event: string; payload: unknown }[]>();
          const expectedMessages = new Map<number, { username: string; text: string }[]>();
          const sent: { username: string; text: string }[] = [];
          const attached = () => [...room.sessions.keys()];
          for (const s of steps) {
            if (s.kind === 'attach') {
              const session = await room.attach(people[s.who] as (typeof people)[number]);
              expectedMessages.set(session.id, []);
              const received = room.received.get(session.id) ?? [];
              all.set(session.id, received);
              // A newcomer's first events: the scrollback as it stands, then the roster.
              expect(received.slice(0, 2).map((r) => r.event)).toEqual(['scrollback', 'roster']);
              expect(received[0]?.payload).toEqual({
                messages: scrollback === 0 ? [] : sent.slice(-scrollback),
              });
              continue;
            }
            const ids = attached();
            if (ids.length === 0) continue;
            const id = ids[s.pick % ids.length] as number;
            if (s.kind === 'detach') await room.detach(id);
            else if (s.kind === 'typing') await room.call(id, 'typing', { typing: s.typing });
            else {
              await room.call(id, 'send', { text: s.text });
              const message = { username: userOf(room.sessions.get(id)!.principal, id).name, text: s.text };
              sent.push(message);
              for (const other of ids) if (other !== id) expectedMessages.get(other)?.push(message);
            }
          }
          for (const id of attached()) {
            const received = all.get(id) ?? [];
            expect([...rosterView(received).entries()].sort(([a], [b]) => a - b)).toEqual(
              [...room.sessions.values()].map((session) => [
                session.id,
                userOf(session.principal, session.id),
              ]),
            );
            expect(received.filter((r) => r.event === 'message').map((r) => r.payload)).toEqual(
              expectedMessages.get(id),
            );
          }
          // Nobody is left typing once everyone who was has gone.
          expect(room.state.typing.every((id) => room.sessions.has(id))).toBe(true);
          await room.dispose();
        },
      ),
      { numRuns: 300 },
    );
  });
});
