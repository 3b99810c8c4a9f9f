import { DEFAULT_MAX_DEPTH, jsonDepthExceeds } from '../../wire/bounded-json.js';
import { decodeResponse, encodeResponse } from '../../wire/buster/codec.js';
import type { WsResponseMessage } from '../../wire/buster/message.js';
import type { StreamBus } from './bus.js';
import { GzipQueue } from './compression.js';
import { BUSTER_SETTINGS } from './settings.js';

/** Compressions of writes that belong to no connection (server pushes, `server.send`). */
const sharedGzip = new GzipQueue(BUSTER_SETTINGS.maxCompressions, BUSTER_SETTINGS.syncGzipMaxBytes);

/** How a message is written or read: whose gzip slots it takes, and the nesting readers accept. */
export interface EntryOptions {
  /** Default: one queue shared by the process, with the default settings. */
  readonly gzip?: GzipQueue;
  /** Default: DEFAULT_MAX_DEPTH, what every reader accepts by default. */
  readonly maxDepth?: number;
}

/**
 * A message nested deeper than its readers accept: refused before it is written, since every
 * reader would drop it and nobody would know. Not a caller's fault: it comes from server code.
 */
export class StreamMessageTooDeep extends Error {
  override readonly name = 'StreamMessageTooDeep';
}

/** `MAXLEN ~ 50` on every XADD, as Buster's `send_ws_message`. */
export const STREAM_MAX_LEN = 50;
/** Field holding a gzip'd `WsResponseMessage`. */
export const DATA_FIELD = 'data';
/** Field of the wake-up entry written to the user's stream after a subscribe. */
export const NEW_SUBSCRIPTION_FIELD = 'new_subscription';
/** Field of the wake-up entry written to the user's stream after an unsubscribe. */
export const REMOVED_SUBSCRIPTION_FIELD = 'removed_subscription';
/** TTL of Buster's key-value helpers and of draft sessions, in seconds. */
export const KEY_VALUE_TTL_SECONDS = 3600;

/** `draft:<stream>`: deleted when the last group leaves `<stream>` (Buster's draft cleanup). */
export function draftKey(stream: string): string {
  return `draft:${stream}`;
}

/** `user:<userId>:<uuid>`: one consumer group per connection, on every stream it follows. */
export function userGroupName(userId: string, uuid: string): string {
  return `user:${userId}:${uuid}`;
}

/** `consumer:<uuid>`: the connection's consumer inside its group. */
export function consumerName(uuid: string): string {
  return `consumer:${uuid}`;
}

/** `thread:<id>`: the stream every follower of a thread reads. */
export function threadStream(threadId: string): string {
  return `thread:${threadId}`;
}

/**
 * Buster's `send_ws_message`: serialise, gzip, `XADD <stream> MAXLEN ~ 50 * data <gzip(json)>`.
 * Resolves with the entry id; rejects with a StreamBusError when the bus is unreachable, and with
 * StreamMessageTooDeep (nothing written) when the message nests deeper than `maxDepth`.
 */
export async function sendWsMessage(
  bus: StreamBus,
  stream: string,
  message: WsResponseMessage,
  options: EntryOptions = {},
): Promise<string> {
  const text = encodeResponse(message);
  const maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
  if (jsonDepthExceeds(text, maxDepth)) {
    throw new StreamMessageTooDeep(`a message to ${stream} is nested deeper than ${maxDepth} levels`);
  }
  const compressed = await (options.gzip ?? sharedGzip).gzip(text);
  return bus.add(stream, { [DATA_FIELD]: compressed }, STREAM_MAX_LEN);
}

/**
 * The `data` field of an entry back as a response: gunzip and parse. Undefined for entries
 * without one (the subscription wake-ups) and for anything that does not read as a response.
 */
export async function readWsMessage(
  fields: ReadonlyMap<string, Uint8Array>,
  options: EntryOptions = {},
): Promise<WsResponseMessage | undefined> {
  const data = fields.get(DATA_FIELD);
  if (!data) return undefined;
  let text: Buffer;
  try {
    text = await (options.gzip ?? sharedGzip).gunzip(data);
  } catch {
    // Not gzip: some other writer's entry. Skipped, as Buster skips entries it cannot read.
    return undefined;
  }
  const decoded = decodeResponse(new Uint8Array(text.buffer, text.byteOffset, text.byteLength), {
    maxDepth: options.maxDepth ?? DEFAULT_MAX_DEPTH,
  });
  return decoded.ok ? decoded.response : undefined;
}

/**
 * Buster's `subscribe_to_stream`: `XGROUP CREATE <stream> <group> $ MKSTREAM`; when the group
 * is new the stream joins the local set (when it already existed, nothing is added); then
 * `XADD <userId> MAXLEN ~ 50 * new_subscription <stream>`, which wakes this connection's blocked
 * read so that its next XREADGROUP includes the new stream.
 */
export async function subscribeToStream(
  bus: StreamBus,
  subscriptions: Set<string>,
  stream: string,
  userGroup: string,
  userId: string,
): Promise<void> {
  if (await bus.createGroup(stream, userGroup)) subscriptions.add(stream);
  await bus.add(userId, { [NEW_SUBSCRIPTION_FIELD]: stream }, STREAM_MAX_LEN);
}

/**
 * Buster's `unsubscribe_from_stream`: drop the stream from the local set, tell the user's stream
 * (`removed_subscription`), `XGROUP DESTROY`, and when `XINFO GROUPS` lists none left:
 * `XTRIM MAXLEN 0`, `DEL <stream>`, `DEL draft:<stream>`.
 */
export async function unsubscribeFromStream(
  bus: StreamBus,
  subscriptions: Set<string>,
  stream: string,
  userGroup: string,
  userId: string,
): Promise<void> {
  subscriptions.delete(stream);
  await bus.add(userId, { [REMOVED_SUBSCRIPTION_FIELD]: stream }, STREAM_MAX_LEN);
  await bus.destroyGroup(stream, userGroup);
  if ((await bus.groupCount(stream)) === 0) {
    await bus.trim(stream);
    await bus.del(stream);
    await bus.del(draftKey(stream));
  }
}
