import { encodeResponse } from '../../wire/buster/codec.js';
import { toWsErrorCode } from '../../wire/buster/error-codes.js';
import type { WsSentBy } from '../../wire/buster/message.js';
import type { BoundRoute } from './router.js';
import type { BusterSettings } from './settings.js';

/**
 * Requests refused before their route runs (ours: Buster has no limits). Each is answered with
 * Buster's error message under the request's route: `error.code` is the Buster code the
 * Switchboard code maps to (`BAD_REQUEST` for all three: the caller's fault) and `error.message`
 * is `<SWITCHBOARD_CODE>: <text>`. docs/wire-buster.md lists the same table; a test keeps them in step.
 */
export const BUSTER_REFUSALS = {
  /** The connection already runs `maxInFlight` requests. */
  TOO_MANY_IN_FLIGHT: 'at most {maxInFlight} requests may run at once on one connection',
  /** The connection has no token left; the first refusal of each debt period is answered, the rest dropped. */
  RATE_LIMITED: 'more than {ratePerSecond} requests per second; retry after {retryAfterMs} ms',
  /** The frame nests deeper than `maxDepth` (answered only when it opens with a known route). */
  BAD_MESSAGE: 'nested deeper than {maxDepth} levels',
} as const;

export type BusterRefusal = keyof typeof BUSTER_REFUSALS;

/**
 * The frame answering a refused request, e.g. `{"route":"/sql/run","event":"runSql","payload":null,
 * "sent_by":{…},"error":{"code":"BAD_REQUEST","message":"TOO_MANY_IN_FLIGHT: at most 64 requests
 * may run at once on one connection"},"send_method":"SenderOnly"}`.
 */
export function refusalFrame(
  refusal: BusterRefusal,
  bound: BoundRoute,
  sentBy: WsSentBy,
  values: Partial<Record<keyof BusterSettings | 'retryAfterMs', number>>,
): string {
  const text = BUSTER_REFUSALS[refusal].replace(/\{(\w+)\}/g, (_, name: string) =>
    String(values[name as keyof typeof values]),
  );
  return encodeResponse({
    route: bound.route,
    event: bound.event,
    payload: null,
    sent_by: sentBy,
    error: { code: toWsErrorCode(refusal), message: `${refusal}: ${text}` },
    send_method: 'SenderOnly',
  });
}
