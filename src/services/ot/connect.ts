import type { Channel } from '../../client/channel.js';
import { OtClient } from './client.js';
import { OtError } from './errors.js';
import type { Op } from './ops.js';
import type { otService } from './service.js';

/** What `connectOtClient` needs besides the channel. */
export interface ConnectOtOptions {
  /** A path for the server's loader (`link {path}`); without it, the channel name's document. */
  readonly path?: string;
  /** Told about each remote edit, already applied to `text`, so an editor can apply it too. */
  readonly onRemote?: (ops: Op[]) => void;
  /**
   * Told when a packet cannot be sent or applied (a refused packet, a lost connection, a crc32 that
   * does not match). The document stops sending after that: open a new one from `status`.
   */
  readonly onError?: (error: unknown) => void;
}

/**
 * Links an open `ot` channel and returns an `OtClient` wired to it: packets go out through `apply`,
 * replies and `ot` events come back in. Transport-free like `OtClient` (browser or Node).
 *
 * @example
 * const chan = await client.openChannel('ot', { name: 'notes.txt' });
 * const doc = await connectOtClient(chan, { onRemote: (ops) => editor.apply(ops) });
 * doc.edit([{ insert: 'hello ' }]);
 */
export async function connectOtClient(
  channel: Channel<typeof otService>,
  options: ConnectOtOptions = {},
): Promise<OtClient> {
  const onError = options.onError ?? ((error: unknown) => console.error('ot:', error));
  // Events may arrive while `link` is on its way back: keep them until the client exists.
  const early: Parameters<OtClient['receive']>[0][] = [];
  let doc: OtClient | undefined;
  let failed = false;
  const guard = (run: () => void) => {
    if (failed) return;
    try {
      run();
    } catch (error) {
      failed = true;
      onError(error);
    }
  };
  channel.on('ot', (packet) => {
    // After a reconnect the catch-up `fetch` and live events may both bring a version: once is enough.
    if (doc) guard(() => doc && !doc.knows(packet.version) && doc.receive(packet));
    else early.push(packet);
  });
  /** The `apply` on its way, if any: a catch-up waits for it, so its packet is taken as ours. */
  let applying: Promise<unknown> = Promise.resolve();
  const status = await channel.call('link', options.path === undefined ? {} : { path: options.path });
  doc = new OtClient({
    contents: status.contents,
    version: status.version,
    send: (packet) => {
      applying = channel.call('apply', packet).then(
        (reply) => guard(() => doc?.acknowledge(reply)),
        (error: unknown) => {
          failed = true;
          onError(error);
        },
      );
    },
    ...(options.onRemote ? { onRemote: options.onRemote } : {}),
  });
  for (const packet of early) if (packet.version > status.version) guard(() => doc?.receive(packet));
  channel.onReopen(() => {
    void catchUp().catch((error: unknown) => {
      failed = true;
      onError(error);
    });
  });
  return doc;

  /**
   * After a reconnect: the packet in flight is retried by the client (`apply` is idempotent, so it is
   * applied once); then every packet applied meanwhile is fetched. A document whose history was lost
   * (every session left, so it was reloaded) cannot be caught up: that is reported as OT_DIVERGED.
   */
  async function catchUp(): Promise<void> {
    await applying.catch(() => {});
    if (failed || !doc) return;
    const now = await channel.call('status', {});
    if (now.version < doc.version)
      throw new OtError(
        'OT_DIVERGED',
        `the document restarted at version ${now.version}; the client is at ${doc.version}`,
      );
    if (now.version === doc.version) return;
    const { packets } = await channel.call('fetch', { versionFrom: doc.version + 1, versionTo: now.version });
    for (const packet of packets) guard(() => doc && !doc.knows(packet.version) && doc.receive(packet));
  }
}
