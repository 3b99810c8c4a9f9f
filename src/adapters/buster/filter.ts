import type { WsResponseMessage } from '../../wire/buster/message.js';

/**
 * Buster's `send_method` filter, applied by each reader to each entry, against `sent_by.id`:
 * `SenderOnly` is dropped when another user sent it, `AllButSender` when this user did, `All` never.
 * A message with `sent_by: null` has no sender to compare and is always delivered (ours).
 *
 * @example shouldDeliver({ …, sent_by: { id: 'u1', name: 'A' }, send_method: 'AllButSender' }, 'u1') // false
 */
export function shouldDeliver(message: WsResponseMessage, userId: string): boolean {
  if (message.sent_by === null) return true;
  const mine = message.sent_by.id === userId;
  switch (message.send_method) {
    case 'SenderOnly':
      return mine;
    case 'AllButSender':
      return !mine;
    default:
      return true;
  }
}
