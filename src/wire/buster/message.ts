/**
 * The Buster WebSocket messages (seed 003, `ws_utils.rs` / `ws_router.rs` at buster-so/buster 8899fb854).
 * Field names are Buster's own: snake_case fields, PascalCase `send_method` values.
 */

/** Client → server, one per text frame: `{"route":"/sql/run","payload":{…}}`. */
export interface WsRequestMessage {
  /** The full path, e.g. `/chats/messages/update`; its first segment names the resource. */
  readonly route: string;
  /** Anything; a missing `payload` reads as `null` (serde's `Value` for a missing field). */
  readonly payload: unknown;
}

/** Who caused a response: `{ id, name }`, where `name` is the user's name or email. */
export interface WsSentBy {
  readonly id: string;
  readonly name: string;
}

/** The error of a failed route: one of {@link WsErrorCode} and a message. */
export interface WsError {
  readonly code: WsErrorCode;
  readonly message: string;
}

/** Which readers of a stream get a message, judged against `sent_by.id`. */
export type WsSendMethod = 'SenderOnly' | 'AllButSender' | 'All';

/** Buster's `WsErrorCode`, serialised in SCREAMING_SNAKE_CASE. */
export type WsErrorCode = 'INTERNAL_SERVER_ERROR' | 'NOT_FOUND' | 'UNAUTHORIZED' | 'BAD_REQUEST';

/**
 * Server → client, one per text frame, fields in this order:
 * `{"route","event","payload","sent_by","error","send_method"}`.
 */
export interface WsResponseMessage {
  readonly route: string;
  /** A camelCase event name, e.g. `runSql`, `joinedThread`. */
  readonly event: string;
  readonly payload: unknown;
  readonly sent_by: WsSentBy | null;
  readonly error: WsError | null;
  readonly send_method: WsSendMethod;
}

/** The three send methods, in the order Buster declares them. */
export const WS_SEND_METHODS: readonly WsSendMethod[] = ['SenderOnly', 'AllButSender', 'All'];
