/**
 * The sandbox-sync Worker under attack: it listens, a ws-proxy (or an attacker holding the token)
 * dials it. The Worker answers no frame (it only sends requests), so for the suite's probes this
 * process answers one itself: a `key_delete_sync` naming `probe-…` makes the Worker send a
 * `key_delete` request for `<name>-ack` on its current link (the connection that dialled last),
 * after every earlier frame was handled. Every frame handled or rejected is told to the test over
 * IPC. Small settings keep the cases quick: frames up to 256 KiB, a link with no ping for 1.5 s is
 * dropped, requests time out after 1 s. `main` and `tight` are the same Worker.
 */
import { SyncWorker } from '../../../src/adapters/sandbox-sync/index.js';
import { serveAdversarial, tell } from '../support/child.js';

const worker = new SyncWorker({
  token: process.argv[2] ?? '',
  maxPayload: 256 * 1024,
  readTimeoutMs: 1500,
  requestTimeoutMs: 1000,
});
worker.onEvent((event) => {
  if (event.kind === 'rejected') tell({ kind: 'rejected', connId: event.connId, code: event.error.code });
  if (event.kind !== 'frame') return;
  const {
    type,
    name = '',
    description = '',
  } = event.frame as { type: string; name?: string; description?: string };
  tell({ kind: 'frame', connId: event.connId, type, name, description });
  if (type === 'key_delete_sync' && name.startsWith('probe-')) {
    // The answer nobody gives: it times out after 1 s, which is all right.
    worker.deleteKey(`${name}-ack`).catch(() => {});
  }
});
const port = await worker.listen(0);
serveAdversarial({ main: port, tight: port });
