import type { ConnectCause } from '../transport/connect-cause.js';

/**
 * Where a client is in its life:
 * `connecting` (first attempt) → `open` ⇄ `reconnecting` → `closed` (by `close()`, or a refusal such as 4100).
 */
export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'closed';

/** Why the state changed: the close code and reason, and for `reconnecting` and `closed` the cause. */
export interface StateDetail {
  readonly code?: number;
  readonly reason?: string;
  readonly cause?: ConnectCause;
}

export type StateListener = (state: ConnectionState, detail?: StateDetail) => void;
