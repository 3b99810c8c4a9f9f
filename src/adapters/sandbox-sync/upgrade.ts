import { createHash, timingSafeEqual } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { UpgradeRefusal, UpgradeRequest, VerifyUpgrade } from '../../transport/socket.js';

/** The Worker's sync endpoint; the ws-proxy appends it to each cluster's URL. */
export const SYNC_PATH = '/v1/ws/sync';
/** The header carrying the shared secret between ws-proxy and Workers. */
export const SYNC_TOKEN_HEADER = 'AGENTBOX-SYNC-TOKEN';

const JSON_CONTENT = { 'Content-Type': 'application/json; charset=utf-8' };

/** Answered before any upgrade when the Worker has no sync token configured. */
export const SYNC_NOT_CONFIGURED: UpgradeRefusal = {
  status: 503,
  body: '{"error":"sync not configured"}',
  headers: JSON_CONTENT,
};
/** Answered before any upgrade when the token header does not match. */
export const INVALID_SYNC_TOKEN: UpgradeRefusal = {
  status: 401,
  body: '{"error":"invalid sync token"}',
  headers: JSON_CONTENT,
};

/**
 * The Worker's pre-upgrade check, shaped as the core's `verifyUpgrade` seam so it can guard any
 * `ws` server: an empty configured token refuses with 503, a missing or different header with 401.
 *
 * @example
 * createServer({ ..., verifyUpgrade: verifySyncToken(process.env.SYNC_TOKEN ?? '') })
 */
export function verifySyncToken(token: string): VerifyUpgrade {
  const expected = digest(token);
  return (request: UpgradeRequest) => {
    if (token === '') return SYNC_NOT_CONFIGURED;
    const header = request.headers[SYNC_TOKEN_HEADER.toLowerCase()];
    const given = Array.isArray(header) ? header[0] : header;
    // Compared through digests so the time taken says nothing about the secret (ours; the origin uses ==).
    if (given === undefined || !timingSafeEqual(digest(given), expected)) return INVALID_SYNC_TOKEN;
    return undefined;
  };
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** Writes an HTTP refusal on a socket that asked to upgrade, then closes it. */
export function writeRefusal(socket: Duplex, refusal: UpgradeRefusal): void {
  const body = Buffer.from(refusal.body ?? '');
  const headers: Record<string, string> = {
    ...refusal.headers,
    'Content-Length': String(body.length),
    Connection: 'close',
  };
  const head = [
    `HTTP/1.1 ${refusal.status} ${STATUS_CODES[refusal.status] ?? ''}`,
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
  ].join('\r\n');
  socket.end(Buffer.concat([Buffer.from(`${head}\r\n\r\n`), body]));
}
