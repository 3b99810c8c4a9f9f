import { SYNC_PATH } from './upgrade.js';

/**
 * The URL the ws-proxy dials for a cluster: scheme http → ws and https → wss (ws and wss kept,
 * anything else ws), `/v1/ws/sync` joined to the path, the query kept.
 * Throws a TypeError for a URL that cannot be parsed.
 *
 * @example
 * syncUrl('https://worker-a.internal/agentbox/') // 'wss://worker-a.internal/agentbox/v1/ws/sync'
 */
export function syncUrl(clusterUrl: string): string {
  const url = new URL(clusterUrl);
  const scheme = url.protocol.slice(0, -1);
  const ws = scheme === 'https' || scheme === 'wss' ? 'wss' : 'ws';
  const auth = url.username ? `${url.username}${url.password ? `:${url.password}` : ''}@` : '';
  return `${ws}://${auth}${url.host}${joinPath(url.pathname, SYNC_PATH)}${url.search}`;
}

/** Go's `path.Join`: one slash between parts, no trailing slash, `.` and `..` resolved. */
function joinPath(base: string, tail: string): string {
  const out: string[] = [];
  for (const part of `${base}/${tail}`.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return `/${out.join('/')}`;
}
