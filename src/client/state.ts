/**
 * Where a client is in its life:
 * `connecting` (first attempt) → `open` ⇄ `reconnecting` → `closed` (by `close()`, or a refusal such as 4100).
 */
export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'closed';

export type StateListener = (state: ConnectionState, detail?: { code?: number; reason?: string }) => void;
