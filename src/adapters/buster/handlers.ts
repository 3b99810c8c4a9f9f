import type { CommandDef, Protocol, ProtocolDef, StreamDef } from '../../protocol/define.js';
import type { InputOf, OutputOf } from '../../protocol/schema.js';
import type { Context } from '../../server/handlers.js';
import type { WsError, WsSendMethod } from '../../wire/buster/message.js';
import type { BusterUser } from './auth.js';

/** A message a handler writes to a stream, e.g. every follower of `thread:<id>`. */
export interface StreamMessage {
  readonly payload: unknown;
  /** Default `SenderOnly`, as Buster's responses. */
  readonly sendMethod?: WsSendMethod;
  /** Default: the response event of the route being served. */
  readonly event?: string;
  /** Default: the route being served. */
  readonly route?: string;
  readonly error?: WsError | null;
}

/**
 * A Switchboard handler context plus what Buster's route handlers do with Redis: write to
 * streams, follow and leave them, and keep short-lived values. A handler written for
 * `Handlers<P>` runs unchanged; one that needs these declares `ctx: BusterContext<P>`.
 */
export interface BusterContext<P> extends Context<P> {
  /** The caller, as `sent_by` shows it. */
  readonly user: BusterUser;
  /** The route being served, e.g. `/threads/post`. */
  readonly route: string;
  /** The event its response carries, e.g. `postThreads`. */
  readonly event: string;
  /**
   * `XADD <stream> MAXLEN ~ 50 * data <gzip(json)>` with `sent_by` = the caller.
   * @example await ctx.send(`thread:${id}`, { payload: message, sendMethod: 'AllButSender', event: 'messageAdded' })
   */
  send(stream: string, message: StreamMessage): Promise<void>;
  /** Follows a stream on this connection (Buster's `subscribe_to_stream`). */
  subscribe(stream: string): Promise<void>;
  /** Leaves a stream (Buster's `unsubscribe_from_stream`, with its cleanup). */
  unsubscribe(stream: string): Promise<void>;
  /** The streams this connection follows now, its personal stream `<userId>` included. */
  readonly subscriptions: ReadonlySet<string>;
  /** Buster's `set_key_value`: SET then EXPIRE 3600. */
  setKeyValue(key: string, value: string): Promise<void>;
  /** Buster's `get_key_value`. */
  getKeyValue(key: string): Promise<string | null>;
  /** Buster's `delete_key_value`. */
  deleteKeyValue(key: string): Promise<void>;
}

type Defs<P> = P extends Protocol<infer D extends ProtocolDef> ? D : never;

/** One command's handler, with a Buster context. */
export type BusterHandlerFor<P, M> =
  M extends CommandDef<infer I, infer O>
    ? (input: OutputOf<I>, ctx: BusterContext<P>) => InputOf<O> | Promise<InputOf<O>>
    : M extends StreamDef<infer I, infer T>
      ? (input: OutputOf<I>, ctx: BusterContext<P>) => AsyncIterable<InputOf<T>> | Iterable<InputOf<T>>
      : never;

/**
 * Handlers for every command of a protocol, shaped like `Handlers<P>` (which is assignable to it)
 * but with a {@link BusterContext}.
 */
export type BusterHandlers<P> = {
  [R in keyof Defs<P>['resources'] as Defs<P>['resources'][R] extends { commands: object }
    ? R
    : never]: Defs<P>['resources'][R] extends { commands: infer C }
    ? { [K in keyof C]: BusterHandlerFor<P, C[K]> }
    : never;
};
