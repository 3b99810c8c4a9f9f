import type { CallId, Message } from './message.js';

/** A frame as a transport carries it: text frames as strings, binary frames as bytes. */
export type Frame = string | Uint8Array;

/** Why a frame could not be decoded. Never thrown: decoders return it. */
export interface WireError {
  /**
   * `BAD_MESSAGE`: not parseable, or not a valid message (answered with an error message);
   * `UNSUPPORTED_FRAME`: a binary frame on a text format or the reverse (close 1003);
   * `INCOMPATIBLE`: a wire version this decoder does not speak (close 4102).
   */
  readonly code: 'BAD_MESSAGE' | 'UNSUPPORTED_FRAME' | 'INCOMPATIBLE';
  readonly message: string;
  /** The call id, when the frame was readable enough to have one, so the error can be correlated. */
  readonly id?: CallId;
}

export type Decoded =
  | { readonly ok: true; readonly message: Message }
  | { readonly ok: false; readonly error: WireError };

/**
 * A wire format: how messages become frames and back. Stateless, so one encoding of a broadcast
 * serves every connection. `decode` must never throw, whatever the bytes: it returns a WireError.
 */
export interface WireFormat {
  /** E.g. `switchboard.json/1`. */
  readonly name: string;
  /** Whether this format uses text or binary WebSocket frames. */
  readonly frame: 'text' | 'binary';
  /**
   * How a connection authenticates. `hello` (the default): the client's first message is a hello.
   * `upgrade`: the wire has no hello (fetch_ml, Buster, goval); the server authenticates from the
   * HTTP upgrade request as soon as the socket opens, with `credentials` undefined.
   */
  readonly handshake?: 'hello' | 'upgrade';
  /**
   * Close codes this wire's clients expect instead of Switchboard's, by Switchboard code: e.g. goval's
   * clients refetch their token on 1008, so `{ 4100: 1008 }`. Unlisted codes are sent as they are.
   */
  readonly closeCodes?: Readonly<Record<number, number>>;
  /** Returns null for a message kind the format cannot carry: it is not sent. */
  encode(message: Message): Frame | null;
  decode(frame: Frame): Decoded;
}
