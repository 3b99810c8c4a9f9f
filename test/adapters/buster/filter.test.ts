import { describe, expect, test } from 'vitest';
import { shouldDeliver } from '../../../src/adapters/buster/index.js';
import type { WsResponseMessage, WsSendMethod } from '../../../src/wire/buster/index.js';

const message = (sendMethod: WsSendMethod, senderId: string | null): WsResponseMessage => ({
  route: '/threads/post',
  event: 'messagePosted',
  payload: null,
  sent_by: senderId === null ? null : { id: senderId, name: senderId },
  error: null,
  send_method: sendMethod,
});

describe('the send_method filter', () => {
  test.each([
    ['SenderOnly', 'me', true],
    ['SenderOnly', 'other', false],
    ['AllButSender', 'me', false],
    ['AllButSender', 'other', true],
    ['All', 'me', true],
    ['All', 'other', true],
    ['SenderOnly', null, true],
    ['AllButSender', null, true],
    ['All', null, true],
  ] as const)('%s sent by %s is delivered to "me": %s', (sendMethod, sender, delivered) => {
    expect(shouldDeliver(message(sendMethod, sender), 'me')).toBe(delivered);
  });
});
