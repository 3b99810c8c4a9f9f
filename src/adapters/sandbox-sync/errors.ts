/**
 * The errors the Worker end's requests fail with, each with a stable `code`, as the origin's
 * `ErrSyncNotConnected`, `HTTPError` and plain errors.
 */

/** There is no ws-proxy connection to send a request on (the origin's `ErrSyncNotConnected`). */
export class SyncNotConnectedError extends Error {
  readonly code = 'SYNC_NOT_CONNECTED';
  constructor() {
    super('ws-proxy sync not connected');
    this.name = 'SyncNotConnectedError';
  }
}

/**
 * The ws-proxy answered `ok: false` with an `httpStatus` (the origin's `HTTPError`): the Worker
 * answers its own HTTP caller with that status and message. A dropped link gives 503.
 */
export class SyncHttpError extends Error {
  readonly code = 'SYNC_HTTP_ERROR';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'SyncHttpError';
  }
}

/** The ws-proxy answered `ok: false` without a status. */
export class SyncRequestError extends Error {
  readonly code = 'SYNC_REQUEST_FAILED';
  constructor(message: string) {
    super(message);
    this.name = 'SyncRequestError';
  }
}

/** No response arrived before the request's deadline (the origin's context deadline). */
export class SyncTimeoutError extends Error {
  readonly code = 'SYNC_TIMEOUT';
  constructor(
    readonly requestType: string,
    readonly timeoutMs: number,
  ) {
    super(`no ${requestType}_resp within ${timeoutMs} ms`);
    this.name = 'SyncTimeoutError';
  }
}

/** The message the Worker fails pending requests with when the ws-proxy link drops. */
export const DISCONNECTED_MESSAGE = 'ws-proxy disconnected';
