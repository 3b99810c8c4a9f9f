import type { IdempotencyStore } from '../broker/idempotency.js';
import type { Contract } from '../protocol/contract.js';
import type { NamedMember, Protocol } from '../protocol/define.js';
import type { WireFormat } from '../wire/format.js';
import type { Authenticator } from './auth/authenticator.js';
import type { ChannelHub } from './channels.js';
import type { Connection } from './connection.js';
import type { EventLog } from './event-log.js';
import type { Pusher } from './handlers.js';
import type { Limits } from './limits.js';
import type { Logger } from './logger.js';
import type { Middleware } from './middleware.js';
import type { TopicHub } from './topics.js';

/** A command bound to its handler, with its permissions normalised to a list. */
export interface Route {
  readonly def: NamedMember;
  readonly permissions: readonly string[];
  readonly handler: (input: unknown, ctx: any) => unknown;
}

/** What every connection of one server shares. Internal: not exported from the package. */
export interface Runtime {
  readonly protocol: Protocol;
  /** The protocol's contract, computed on first use: what clients sending theirs are checked against. */
  readonly contract: Contract;
  /** The hash of that contract (see `contractHash`), computed on first use: what a hello's hash is compared with. */
  readonly contractHash: string;
  readonly wire: WireFormat;
  readonly limits: Limits;
  readonly logger: Logger;
  /** Connection events (refusals, protocol errors, limits, closes), written within the log budget. */
  readonly events: EventLog;
  readonly auth: Authenticator;
  readonly routes: ReadonlyMap<string, Route>;
  readonly validateOutput: boolean;
  /** Runs around every call and stream, in order; undefined when none is configured (the fast path). */
  readonly middleware: readonly Middleware[] | undefined;
  readonly pusher: Pusher<any>;
  readonly topics: TopicHub;
  /** Traffic recording (goval's VCR): whether clients may start one, and its bound. */
  readonly recording: { readonly inBand: boolean; readonly maxEntries?: number };
  /** Service instances and the channels attached to them. */
  readonly channels: ChannelHub;
  /** Where idempotent calls are remembered: the broker's store, shared by every node on it. */
  readonly idempotency: IdempotencyStore;
  readonly shuttingDown: boolean;
  /** Called when a connection completes its handshake, and when it closes. */
  opened(connection: Connection): void;
  closed(connection: Connection, code: number, reason: string): void;
  /** Called when a connection is closed for abusing its rate limit (4202). */
  abused(connection: Connection): void;
  /** Called once when a connection's socket is gone, whatever state it was in. */
  released(connection: Connection): void;
  /**
   * Called when a connection has authenticated, before its welcome: a reason to refuse it (the
   * principal is over its connection limits, close 4203), or undefined to let it open.
   */
  admitPrincipal(connection: Connection, principalId: string): string | undefined;
  /** Called each time a call finishes, so shutdown can tell when nothing runs any more. */
  settled(): void;
}
