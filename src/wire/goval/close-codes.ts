/**
 * WebSocket close codes a goval client (crosis) interprets, and what it does on each. Any other code
 * is retried with backoff. See docs/goval.md for which ones Switchboard sends.
 */
export const GOVAL_CLOSE_CODES = {
  /** 1008: the token was refused; crosis fetches new connection metadata and retries. */
  POLICY_VIOLATION: 1008,
  /** 1014: a proxy got a bad answer upstream; crosis retries. */
  INVALID_UPSTREAM_RESPONSE: 1014,
  /** 4000: the firewall denies the connection; fatal for crosis. */
  FIREWALL_DENIED: 4000,
  /** 4001: try another machine; crosis retries. */
  TRY_ANOTHER_MACHINE: 4001,
  /** 4002: the user did something wrong; fatal for crosis. */
  USER_ERROR: 4002,
  /** 4004: too many repls running at once; fatal for crosis. */
  CONCURRENT_REPL_LIMIT: 4004,
} as const;

/** Whether crosis gives up (rather than reconnects) after a close with this code. */
export function isFatalForGovalClient(code: number): boolean {
  return (
    code === GOVAL_CLOSE_CODES.FIREWALL_DENIED ||
    code === GOVAL_CLOSE_CODES.USER_ERROR ||
    code === GOVAL_CLOSE_CODES.CONCURRENT_REPL_LIMIT
  );
}
