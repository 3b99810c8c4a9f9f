import type { CallId } from '../message.js';

/**
 * Call ids on the goval wire name where the reply goes: `<channel>/<ref>` for a command with a ref,
 * `<channel>#<n>` for one without (n unique per wire). A channel is an int32 on this wire, so a
 * peer may send a negative one: its error reply must still find its way back with its ref. The message model's replies carry only the id,
 * and the wire is stateless, so the id is the one place the channel and the ref can travel.
 */
const WITH_REF = /^(-?\d{1,10})\/([\s\S]*)$/;
const WITHOUT_REF = /^(-?\d{1,10})#\d+$/;

/** Where a reply goes: its channel and the ref it echoes (none for a command sent without one). */
export interface ReplyAddress {
  readonly channel?: number;
  readonly ref?: string;
}

/** The call id of a command received on `channel` with `ref` (`''`: none; `generated` numbers it). */
export function callIdOf(channel: number, ref: string, generated: () => number): string {
  return ref === '' ? `${channel}#${generated()}` : `${channel}/${ref}`;
}

/**
 * The channel and ref an id names. Ids this wire did not make: a string is a ref as it is (on the
 * channel the message says), a number has no ref.
 */
export function addressOf(id: CallId | undefined): ReplyAddress {
  if (typeof id !== 'string') return {};
  const withRef = WITH_REF.exec(id);
  if (withRef) return { channel: Number(withRef[1]), ref: withRef[2] };
  const withoutRef = WITHOUT_REF.exec(id);
  if (withoutRef) return { channel: Number(withoutRef[1]) };
  return { ref: id };
}
