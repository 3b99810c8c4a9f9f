import { crc32 } from './crc32.js';
import type { Packet } from './document.js';
import { OtError } from './errors.js';
import { apply, checkOps, codePointLength, compose, type Op, type Ops, transform } from './ops.js';

/** What the client sends: ops made on `version` (the `apply` command's input). */
export interface OutgoingPacket {
  readonly version: number;
  readonly ops: Op[];
}

/** Where an `OtClient` starts and how it talks to the server. */
export interface OtClientOptions {
  /** The text and version from `link` or `status`. */
  readonly contents: string;
  readonly version: number;
  /**
   * Sends a packet to the server (the `apply` command). Its reply must come back through
   * `acknowledge`; at most one packet is in flight at a time.
   */
  readonly send: (packet: OutgoingPacket) => void;
  /** Told about each remote edit, already transformed to apply to `text` (which already has it). */
  readonly onRemote?: (ops: Op[]) => void;
}

/** What the client is waiting for: nothing, the reply to one packet, or that plus local edits. */
export type OtClientState = 'synchronized' | 'awaitingConfirm' | 'awaitingWithBuffer';

/**
 * The client's side of OT, transport-free (no Node-only imports). One packet is in flight at a
 * time; edits made meanwhile are composed into a buffer and sent when the reply comes. Remote
 * packets are transformed past both, so local edits never wait for the network. Replies and
 * remote packets are applied in version order even if they arrive out of order, and each packet's
 * crc32 is checked against the client's copy of the server's text.
 *
 * @example
 * const doc = new OtClient({ contents, version, send: (p) => chan.call('apply', p).then((r) => doc.acknowledge(r)) });
 * chan.on('ot', (packet) => doc.receive(packet));
 * doc.edit([{ skip: 5 }, { insert: '!' }]);
 */
export class OtClient {
  /** The server's text at `version`: what every packet's crc32 is checked against. */
  private server: string;
  private local: string;
  private current: number;
  private inFlight: Op[] | undefined;
  private buffer: Op[] | undefined;
  /** Packets that came ahead of a missing one, by version; `own` marks replies to ours. */
  private readonly early = new Map<number, { packet: Packet; own: boolean }>();

  constructor(private readonly options: OtClientOptions) {
    this.server = options.contents;
    this.local = options.contents;
    this.current = options.version;
  }

  /** The local text: the server's plus edits not yet confirmed. */
  get text(): string {
    return this.local;
  }

  /** The last server version applied. */
  get version(): number {
    return this.current;
  }

  get state(): OtClientState {
    return this.inFlight === undefined
      ? 'synchronized'
      : this.buffer === undefined
        ? 'awaitingConfirm'
        : 'awaitingWithBuffer';
  }

  /** Whether the client has this version already: applied, or arrived early and waiting. */
  knows(version: number): boolean {
    return version <= this.current || this.early.has(version);
  }

  /** Versions that arrived early and wait for a missing one (fetch it if this stays non-empty). */
  get waiting(): number[] {
    return [...this.early.keys()].sort((a, b) => a - b);
  }

  /**
   * A local edit made on `text`: applied at once, then sent or buffered. Throws
   * `OtError('OT_BAD_OPS')` when it does not fit `text`; an edit that changes nothing is dropped.
   */
  edit(ops: Ops): void {
    const edit = checkOps(ops, codePointLength(this.local));
    if (edit.length === 0) return;
    this.local = apply(this.local, edit);
    if (this.inFlight === undefined) this.send(edit);
    else this.buffer = this.buffer === undefined ? edit : compose(this.buffer, edit);
  }

  /** A packet another session applied (the `ot` event). */
  receive(packet: Packet): void {
    this.enqueue(packet, false);
  }

  /** The server's reply to the packet in flight. */
  acknowledge(packet: Packet): void {
    this.enqueue(packet, true);
  }

  private enqueue(packet: Packet, own: boolean): void {
    if (packet.version <= this.current || this.early.has(packet.version)) {
      throw new OtError('OT_DIVERGED', `packet ${packet.version} came twice (at version ${this.current})`);
    }
    this.early.set(packet.version, { packet, own });
    for (let next = this.early.get(this.current + 1); next; next = this.early.get(this.current + 1)) {
      this.early.delete(this.current + 1);
      if (next.own) this.confirmed(next.packet);
      else this.remote(next.packet);
    }
  }

  private advance(packet: Packet): void {
    const server = apply(this.server, packet.ops);
    const sum = crc32(server);
    if (sum !== packet.crc32) {
      throw new OtError(
        'OT_DIVERGED',
        `packet ${packet.version}: crc32 ${packet.crc32}, the client has ${sum}`,
      );
    }
    this.server = server;
    this.current = packet.version;
  }

  private confirmed(packet: Packet): void {
    if (this.inFlight === undefined) {
      throw new OtError('OT_DIVERGED', `packet ${packet.version} confirms nothing the client sent`);
    }
    this.advance(packet);
    const next = this.buffer;
    this.inFlight = undefined;
    this.buffer = undefined;
    if (next !== undefined && next.length > 0) this.send(next);
  }

  private remote(packet: Packet): void {
    this.advance(packet);
    let incoming = packet.ops;
    // The server put this packet before ours, so its inserts go first (it is 'left').
    if (this.inFlight !== undefined) {
      const inFlight = transform(this.inFlight, incoming, 'right');
      incoming = transform(incoming, this.inFlight, 'left');
      this.inFlight = inFlight;
    }
    if (this.buffer !== undefined) {
      const buffer = transform(this.buffer, incoming, 'right');
      incoming = transform(incoming, this.buffer, 'left');
      this.buffer = buffer;
    }
    this.local = apply(this.local, incoming);
    this.options.onRemote?.(incoming);
  }

  private send(ops: Op[]): void {
    this.inFlight = ops;
    this.options.send({ version: this.current, ops });
  }
}
