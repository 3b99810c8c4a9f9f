import type { UpgradeRequest } from '../../transport/socket.js';

/** The path a goval client connects to: crosis replaces the URL's path with `/wsv2/<token>`. */
export const GOVAL_TOKEN_PATH = '/wsv2/';

/**
 * The token of a goval connection, from its upgrade URL's path (`/wsv2/<token>`), percent-decoded;
 * undefined when the path is anything else or the token is empty.
 *
 * @example govalToken({ url: '/wsv2/abc.def', headers: {} }) // 'abc.def'
 */
export function govalToken(request: Pick<UpgradeRequest, 'url'>): string | undefined {
  let path: string;
  try {
    path = new URL(request.url, 'ws://goval.invalid').pathname;
  } catch {
    return undefined;
  }
  if (!path.startsWith(GOVAL_TOKEN_PATH)) return undefined;
  const raw = path.slice(GOVAL_TOKEN_PATH.length);
  if (raw === '' || raw.includes('/')) return undefined;
  try {
    return decodeURIComponent(raw);
  } catch {
    // A malformed percent-escape is not a token.
    return undefined;
  }
}
