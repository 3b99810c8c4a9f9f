/**
 * The adversarial suite, run on one wire's server in its own process over real sockets. Each wire
 * describes itself in a `WireProfile` (how to connect and shake hands, its golden frames, a request
 * with its exact answer, what the docs say each bad input gets, a witness client); this file holds
 * the cases, the same for every wire. See docs/testing.md, "The adversarial suite".
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { isUtf8 } from './mutate.js';
import { frameBytes, OPCODE, RawWebSocket, type ServerFrame, UpgradeRefused } from './raw-ws.js';
import { ServerProcess } from './server-process.js';

/** What the docs say a bad input gets. */
export type Outcome =
  /** The server closes with this code (and, when given, this reason). */
  | { readonly close: number; readonly reason?: string }
  /** Exactly one reply, checked by `check`; the connection keeps serving. */
  | { readonly reply: (frame: ServerFrame) => void }
  /** Nothing is sent back; the connection keeps serving. */
  | { readonly silent: true }
  /**
   * For input the docs cannot name one answer for (random bytes may form a valid protobuf): whatever
   * comes back is a documented reply, and the connection keeps serving.
   */
  | { readonly documented: true };

/** A request with its exact answer. */
export interface Exchange {
  readonly frame: Uint8Array;
  /** Whether `reply` answers this request (cheap; `check` then says whether it is exact). */
  answers(reply: ServerFrame): boolean;
  /** Throws unless `reply` is exactly this request's answer. */
  check(reply: ServerFrame): void;
}

/** A well-behaved client that keeps calling and checking exact answers. */
export interface Witness {
  /** Resolves once the first calls were answered. */
  readonly ready: Promise<void>;
  /** Stops calling; resolves with how many calls were answered exactly and every failure. */
  stop(): Promise<{ readonly calls: number; readonly failures: readonly string[] }>;
}

export interface HostileCase {
  readonly name: string;
  readonly frame: Uint8Array | string;
  readonly outcome: Outcome;
  /** Sent before the handshake instead of after. */
  readonly beforeWelcome?: boolean;
  /** Frames sent first, each answered by one reply (not checked), e.g. to create what the case edits. */
  readonly setup?: readonly (Uint8Array | string)[];
  /** Checks what the server process told the test (its events over IPC) once the outcome is in. */
  readonly after?: (events: readonly unknown[]) => void;
}

export interface FloodSpec {
  /** Frames a flooding connection writes at once (after its handshake). */
  readonly frames: (n: number) => Uint8Array[];
  /** How many frames each flood writes; default 8,000. */
  readonly count?: number;
  /**
   * Whether the wire closes a flooder (4202); default true. When it does not, a probe after the
   * flood must be answered. A wire with no per-address refusal floods `reconnects` times (default 3).
   */
  readonly closes?: boolean;
  readonly reconnects?: number;
  /**
   * How long the wire's docs let a flooder's socket live after its 4202; default 0 (dropped at
   * once, as the core does). Buster keeps its documented 1 s grace so the close frame is read.
   */
  readonly dropGraceMs?: number;
  /** Checks what a flooding connection got: its replies and its close. */
  readonly check: (replies: readonly ServerFrame[], close: number | undefined) => void;
  /** HTTP status a reconnecting flooder gets once past the per-address connection rate; undefined: none. */
  readonly refusedWith: number | undefined;
}

export interface WireProfile {
  readonly name: string;
  /** `servers/<script>.ts`; it serves `main` and `tight` (its rate limits reachable) ports. */
  readonly script: string;
  readonly scriptArgs?: () => string[];
  /** The data frame type of the wire. */
  readonly dataOpcode: typeof OPCODE.text | typeof OPCODE.binary;
  /** Path and headers of an upgrade (credentials where the wire authenticates there). */
  upgrade(): Promise<{ readonly path: string; readonly headers?: Record<string, string> }>;
  /** Live peers of this wire ping this often (the sandbox-sync Worker drops a link that does not). */
  readonly pingEveryMs?: number;
  /** Completes the handshake on a just-upgraded connection (waiting for the welcome, if any). */
  handshake(ws: RawWebSocket): Promise<void>;
  /** Server frames that are neither replies nor errors (heartbeats, unsolicited pushes). */
  ignorable?(frame: ServerFrame): boolean;
  /** Request frames taken from the wire's docs and tests. */
  readonly golden: readonly Uint8Array[];
  /** The `n`th request with its exact answer. */
  exchange(n: number): Exchange;
  /** Undefined when `frame` is a kind of server frame the docs describe, else what is wrong with it. */
  undocumented(frame: ServerFrame): string | undefined;
  /** Close codes the docs list for bad input on this wire. */
  readonly documentedCloses: readonly number[];
  /** What a data frame of random bytes (valid UTF-8 on text wires) gets after the handshake. */
  readonly garbage: Outcome;
  /** What a frame of the other data type gets (binary on a text wire, text on a binary one). */
  readonly otherDataType: Outcome;
  readonly maxMessageBytes: number;
  /** Golden frames mutated into frames that leave the connection open, for the long run. */
  readonly mutatedKeepingOpen: fc.Arbitrary<Uint8Array>;
  /** Golden frames mutated in any way. */
  readonly mutated: fc.Arbitrary<Uint8Array>;
  /** Deep nesting in every field a peer controls, huge numbers, `__proto__` and `constructor` keys. */
  readonly hostile: readonly HostileCase[];
  readonly flood: FloodSpec;
  /**
   * What a peer that starts a frame and never finishes it gets, within how long, and how long its
   * socket may stay after the close frame (a dead peer never answers it).
   */
  readonly stuck: {
    readonly close: number | undefined;
    readonly withinMs: number;
    readonly lingerMs: number;
    readonly refusedWith?: number;
  };
  witness(server: ServerProcess): Witness;
  /** Heap growth allowed after a GC, from before the cases to after them (docs/testing.md). */
  readonly heapBoundBytes: number;
  /** Resident set growth allowed, where native memory is at stake (Buster's gzip contexts). */
  readonly rssBoundBytes?: number;
  /** Frames the long run sends on one connection (10,000). */
  readonly longRun?: number;
}

/**
 * How much longer each case runs: 1 in `npm test`; `npm run soak` sets ADVERSARIAL_SCALE=10
 * (ten times the fast-check runs, the long run and the floods).
 */
const SCALE = Math.max(1, Number(process.env.ADVERSARIAL_SCALE ?? 1));
const runs = (n: number) => n * SCALE;

/** Heap growth allowed, after a GC, between the start and the end of a wire's suite. */
export const HEAP_BOUND_BYTES = 8 * 1024 * 1024;

/** A connection and a cursor over the replies it got. */
class Peer {
  private cursor = 0;
  constructor(
    readonly ws: RawWebSocket,
    private readonly profile: WireProfile,
  ) {}

  /** The next reply that is not a heartbeat or a push; fails if the connection ends first. */
  async next(timeoutMs = 3000): Promise<ServerFrame> {
    for (;;) {
      const frame = await this.ws.message(this.cursor, timeoutMs);
      this.cursor++;
      if (!this.profile.ignorable?.(frame)) return frame;
    }
  }

  /** Replies not yet read (heartbeats and pushes left out). */
  unread(): ServerFrame[] {
    const rest = this.ws.messages.slice(this.cursor).filter((f) => !this.profile.ignorable?.(f));
    this.cursor = this.ws.messages.length;
    return rest;
  }

  send(frame: Uint8Array | string, opcode: number = this.profile.dataOpcode): void {
    this.ws.send(frame, { opcode });
  }
}

let addressSeq = 0;
/** A fresh loopback source address per attacker connection, so per-address limits stay out of the way. */
function freshAddress(block = 1): string {
  addressSeq++;
  return `127.${block}.${(addressSeq >> 8) & 0xff}.${addressSeq & 0xff || 1}`;
}

const text = (frame: ServerFrame) => frame.payload.toString('utf8');
const bytes = (frame: Uint8Array | string) => (typeof frame === 'string' ? Buffer.from(frame) : frame);

export function adversarialSuite(profile: WireProfile): void {
  describe(`adversarial: the ${profile.name} wire, in its own process, over real sockets`, () => {
    let server: ServerProcess;
    let witnesses: Witness[] = [];
    let heapBefore: number;
    let rssBefore: number;
    let probes = 0;
    const opened: RawWebSocket[] = [];

    beforeAll(async () => {
      server = await ServerProcess.start(profile.script, profile.scriptArgs?.() ?? []);
      witnesses = [profile.witness(server)];
      await Promise.all(witnesses.map((w) => w.ready));
      const before = await server.heap();
      heapBefore = before.heapUsed;
      rssBefore = before.rss;
    }, 30_000);

    afterAll(async () => {
      for (const ws of opened) ws.destroy();
      await Promise.all(witnesses.map((w) => w.stop()));
      await server?.stop();
    });

    async function upgraded(which = 'main', from = freshAddress(), autoPong = true): Promise<RawWebSocket> {
      const { path, headers } = await profile.upgrade();
      const ws = await RawWebSocket.open({
        port: server.ports[which] as number,
        path,
        ...(headers ? { headers } : {}),
        from,
        autoPong,
        ...(autoPong && profile.pingEveryMs ? { pingEveryMs: profile.pingEveryMs } : {}),
      });
      opened.push(ws);
      return ws;
    }

    async function connected(which = 'main', from?: string): Promise<Peer> {
      const ws = await upgraded(which, from);
      await profile.handshake(ws);
      return new Peer(ws, profile);
    }

    /** Sends a request and checks that its exact answer is the next reply. */
    async function probe(peer: Peer): Promise<void> {
      const exchange = profile.exchange(++probes);
      peer.send(exchange.frame);
      exchange.check(await peer.next());
    }

    /** Asserts `outcome` on `peer` after the frame was sent; returns whether the connection is still usable. */
    async function expectOutcome(peer: Peer, outcome: Outcome): Promise<boolean> {
      if ('close' in outcome) {
        const closed = await peer.ws.closed();
        expect(peer.unread().map(text)).toEqual([]);
        expect(closed.code).toBe(outcome.close);
        if (outcome.reason !== undefined) expect(closed.reason).toBe(outcome.reason);
        return false;
      }
      if ('reply' in outcome) outcome.reply(await peer.next());
      if ('documented' in outcome) {
        const exchange = profile.exchange(++probes);
        scanned.set(exchange, peer.ws.messages.length);
        peer.send(exchange.frame);
        await peer.ws.until(() => answered(peer, exchange) || peer.ws.ended, 3000, 'the probe answered');
        for (const reply of peer.unread()) expect(profile.undocumented(reply), text(reply)).toBeUndefined();
        expect(peer.ws.closeCode).toBeUndefined();
        return true;
      }
      await probe(peer);
      return true;
    }

    test('random bytes in a data frame get what the docs say, every time', async () => {
      let peer = await connected();
      await fc.assert(
        fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 300 }), async (payload) => {
          if (profile.dataOpcode === OPCODE.text && !isUtf8(payload))
            payload = Buffer.from(Buffer.from(payload).toString('latin1'));
          if (peer.ws.ended || peer.ws.closeCode !== undefined) peer = await connected();
          peer.send(payload);
          await expectOutcome(peer, profile.garbage);
        }),
        { numRuns: runs(25) },
      );
    });

    test('golden frames mutated: every answer is documented, and the connection serves on or closes with a documented code', async () => {
      let peer = await connected();
      await fc.assert(
        fc.asyncProperty(profile.mutated, async (frame) => {
          if (peer.ws.ended || peer.ws.closeCode !== undefined) peer = await connected();
          peer.send(frame);
          const exchange = profile.exchange(++probes);
          peer.send(exchange.frame);
          // The probe's answer comes after whatever the mutated frame got, unless the server closed.
          await peer.ws.until(
            () => peer.ws.closeCode !== undefined || peer.ws.ended || answered(peer, exchange),
            3000,
            'the probe answered or a close',
          );
          const replies = peer.unread();
          for (const reply of replies) expect(profile.undocumented(reply), text(reply)).toBeUndefined();
          if (peer.ws.closeCode !== undefined || peer.ws.ended)
            expect(profile.documentedCloses).toContain(peer.ws.closeCode);
        }),
        { numRuns: runs(40) },
      );
    });

    test('truncated golden frames get what the docs say', async () => {
      let peer = await connected();
      await fc.assert(
        fc.asyncProperty(
          fc
            .constantFrom(...profile.golden)
            .chain((g) =>
              fc.integer({ min: 1, max: Math.max(1, g.length - 1) }).map((n) => g.subarray(0, n)),
            ),
          async (frame) => {
            if (peer.ws.ended || peer.ws.closeCode !== undefined) peer = await connected();
            peer.send(frame);
            const exchange = profile.exchange(++probes);
            peer.send(exchange.frame);
            await peer.ws.until(
              () => peer.ws.closeCode !== undefined || peer.ws.ended || answered(peer, exchange),
              3000,
              'the probe answered or a close',
            );
            for (const reply of peer.unread())
              expect(profile.undocumented(reply), text(reply)).toBeUndefined();
            if (peer.ws.closeCode !== undefined || peer.ws.ended)
              expect(profile.documentedCloses).toContain(peer.ws.closeCode);
          },
        ),
        { numRuns: runs(20) },
      );
    });

    test('invalid UTF-8 in a text frame closes with 1007', async () => {
      const golden = profile.golden.map((g) =>
        profile.dataOpcode === OPCODE.text ? g : Buffer.from('{"a":"b"}'),
      );
      await fc.assert(
        fc.asyncProperty(
          fc
            .constantFrom(...golden)
            .chain((g) =>
              fc
                .tuple(fc.nat(g.length), fc.constantFrom([0x80], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xff]))
                .map(([at, bad]) => Buffer.concat([g.subarray(0, at), Buffer.from(bad), g.subarray(at)])),
            ),
          async (frame) => {
            const peer = await connected();
            peer.send(frame, OPCODE.text);
            await expectOutcome(peer, { close: 1007 });
          },
        ),
        { numRuns: runs(6) },
      );
    });

    test('a frame of the other data type gets what the docs say', async () => {
      const peer = await connected();
      const other = profile.dataOpcode === OPCODE.text ? OPCODE.binary : OPCODE.text;
      const frame = profile.golden[0] as Uint8Array;
      peer.send(other === OPCODE.text ? Buffer.from(Buffer.from(frame).toString('latin1')) : frame, other);
      await expectOutcome(peer, profile.otherDataType);
    });

    test('a frame over maxMessageBytes closes with 1009, whether announced or sent whole', async () => {
      const announced = await connected();
      announced.ws.send(Buffer.alloc(16), {
        opcode: profile.dataOpcode,
        announcedLength: profile.maxMessageBytes + 1,
      });
      await expectOutcome(announced, { close: 1009 });
      const whole = await connected();
      whole.send(Buffer.alloc(profile.maxMessageBytes + 1, 0x20));
      await expectOutcome(whole, { close: 1009 });
    });

    test('fragmented frames: a request in three fragments with a ping between them gets its exact answer', async () => {
      const peer = await connected();
      const exchange = profile.exchange(++probes);
      const frame = exchange.frame;
      const a = Math.floor(frame.length / 3);
      const b = Math.floor((2 * frame.length) / 3);
      peer.ws.send(frame.subarray(0, a), { opcode: profile.dataOpcode, fin: false });
      peer.ws.send(frame.subarray(a, b), { opcode: OPCODE.continuation, fin: false });
      peer.ws.send(Buffer.from('are you there'), { opcode: OPCODE.ping });
      peer.ws.send(frame.subarray(b), { opcode: OPCODE.continuation, fin: true });
      exchange.check(await peer.next());
      await probe(peer);
    });

    test('fragments adding up to more than maxMessageBytes close with 1009', async () => {
      const peer = await connected();
      const chunk = Buffer.alloc(Math.ceil(profile.maxMessageBytes / 4) + 1, 0x20);
      peer.ws.send(chunk, { opcode: profile.dataOpcode, fin: false });
      // The fourth chunk passes the limit and nothing follows it: a peer still sending when it is
      // dropped may get a reset instead of the close frame (docs/limits.md), which is not this case.
      for (let i = 0; i < 3; i++) peer.ws.send(chunk, { opcode: OPCODE.continuation, fin: false });
      await expectOutcome(peer, { close: 1009 });
    });

    test('a continuation with no message started, or a data frame inside a fragmented one, closes with 1002', async () => {
      const stray = await connected();
      stray.ws.send(profile.golden[0] as Uint8Array, { opcode: OPCODE.continuation });
      await expectOutcome(stray, { close: 1002 });
      const interleaved = await connected();
      interleaved.ws.send(Buffer.from('{'), { opcode: profile.dataOpcode, fin: false });
      interleaved.ws.send(profile.golden[0] as Uint8Array, { opcode: profile.dataOpcode });
      await expectOutcome(interleaved, { close: 1002 });
    });

    test('an unmasked client frame closes with 1002', async () => {
      const peer = await connected();
      peer.ws.send(profile.golden[0] as Uint8Array, { opcode: profile.dataOpcode, mask: false });
      await expectOutcome(peer, { close: 1002 });
    });

    test.each(profile.hostile.map((c) => [c.name, c] as const))('hostile: %s', async (_name, hostileCase) => {
      const peer = hostileCase.beforeWelcome ? new Peer(await upgraded(), profile) : await connected();
      for (const frame of hostileCase.setup ?? []) {
        peer.send(bytes(frame));
        await peer.next();
      }
      peer.send(bytes(hostileCase.frame));
      await expectOutcome(peer, hostileCase.outcome);
      hostileCase.after?.(server.events);
      expect(await server.ask<string[]>('polluted')).toEqual([]);
    });

    test(
      `${profile.longRun ?? 10_000} mutated golden frames on one connection, then an exact answer`,
      async () => {
        const count = runs(profile.longRun ?? 10_000);
        const peer = await connected();
        const frames = fc.sample(profile.mutatedKeepingOpen, { numRuns: count, seed: 11 });
        // Batches of 200, each followed by a probe whose exact answer paces the next batch: the
        // connection is shown to serve all along, and the socket's buffers stay small.
        for (let i = 0; i < frames.length; i += 200) {
          const batch = frames.slice(i, i + 200).map((f) => bytesOfFrame(f, profile.dataOpcode));
          const exchange = profile.exchange(++probes);
          scanned.set(exchange, peer.ws.messages.length);
          peer.ws.write(Buffer.concat([...batch, bytesOfFrame(exchange.frame, profile.dataOpcode)]));
          await peer.ws.until(
            () => answered(peer, exchange) || peer.ws.ended || peer.ws.closeCode !== undefined,
            10_000,
            `the probe after frame ${i + batch.length} answered`,
          );
        }
        expect(peer.ws.closeCode).toBeUndefined();
        const replies = peer.unread();
        const wrong = replies.map((r) => profile.undocumented(r)).filter((w) => w !== undefined);
        expect(wrong.slice(0, 5)).toEqual([]);
        expect(await server.ask<string[]>('polluted')).toEqual([]);
      },
      30_000 * SCALE,
    );

    test(
      'a flooder that reconnects: each connection pays for itself; the per-address rate refuses it at the upgrade',
      async () => {
        const from = '127.0.0.5';
        const refusals: number[] = [];
        const closes = profile.flood.closes ?? true;
        // Until the per-address refusal where the wire has one; else a few floods in a row.
        const attempts = profile.flood.refusedWith !== undefined ? 40 : runs(profile.flood.reconnects ?? 3);
        let floods = 0;
        for (let attempt = 0; attempt < attempts && !refusals.length; attempt++) {
          let ws: RawWebSocket;
          try {
            ws = await upgraded('tight', from);
          } catch (error) {
            if (!(error instanceof UpgradeRefused)) throw error;
            refusals.push(error.status);
            continue;
          }
          await profile.handshake(ws);
          const peer = new Peer(ws, profile);
          const frames = profile.flood.frames(profile.flood.count ?? 8000);
          ws.write(Buffer.concat(frames.map((f) => bytesOfFrame(f, profile.dataOpcode))));
          if (closes) {
            await ws.closed(5000);
            const closedAt = Date.now();
            const grace = profile.flood.dropGraceMs ?? 0;
            await ws.gone(grace + 1000);
            // Closed for abuse: dropped at once (or after the wire's documented grace), not after
            // ws's 30 s closing handshake while it keeps parsing.
            expect((ws.endedAt as number) - closedAt).toBeLessThan(grace + 250);
          } else {
            const exchange = profile.exchange(++probes);
            scanned.set(exchange, ws.messages.length);
            peer.send(exchange.frame);
            await ws.until(
              () => answered(peer, exchange) || ws.ended,
              20_000,
              'the probe after the flood answered',
            );
            ws.destroy();
          }
          profile.flood.check(peer.unread(), ws.closeCode);
          floods++;
        }
        expect(floods).toBeGreaterThan(0);
        if (profile.flood.refusedWith === undefined) expect(refusals).toEqual([]);
        else expect(refusals).toEqual([profile.flood.refusedWith]);
      },
      45_000 * SCALE,
    );

    test('100 peers that start a frame and never finish it are closed (or refused) and gone', async () => {
      const outcomes = await Promise.all(
        Array.from({ length: 100 }, async () => {
          let ws: RawWebSocket;
          try {
            // Dead peers: they never answer a ping either.
            ws = await upgraded('main', freshAddress(2), false);
          } catch (error) {
            if (error instanceof UpgradeRefused) return { refused: error.status };
            throw error;
          }
          // 60 KiB announced, 1 KiB sent: under every pre-welcome limit, and never finished.
          ws.send(Buffer.alloc(1024, 0x20), {
            opcode: profile.dataOpcode,
            announcedLength: 60 * 1024,
            fin: true,
          });
          const closed = await ws.closed(profile.stuck.withinMs + 2000);
          const closedAt = Date.now();
          await ws.gone(2000);
          return { close: closed.code, lingeredMs: (ws.endedAt as number) - closedAt };
        }),
      );
      for (const outcome of outcomes) {
        if ('refused' in outcome) expect(outcome.refused).toBe(profile.stuck.refusedWith);
        else {
          expect(outcome.close).toBe(profile.stuck.close);
          expect(outcome.lingeredMs).toBeLessThan(profile.stuck.lingerMs);
        }
      }
    }, 30_000);

    test('at the end: the process is alive, the witness was served throughout, the heap is back within its bound', async () => {
      for (const ws of opened.splice(0)) ws.destroy();
      expect(server.alive, server.stderr).toBe(true);
      const results = await Promise.all(witnesses.map((w) => w.stop()));
      witnesses = [];
      const lagMs = await server.ask<number>('lag');
      for (const result of results) {
        expect(result.failures, `the server's event loop stalled up to ${lagMs} ms`).toEqual([]);
        expect(result.calls).toBeGreaterThanOrEqual(3);
      }
      const after = await server.heap();
      expect(after.heapUsed - heapBefore).toBeLessThan(profile.heapBoundBytes);
      if (profile.rssBoundBytes !== undefined)
        expect(after.rss - rssBefore).toBeLessThan(profile.rssBoundBytes);
    }, 30_000);
  });
}

const scanned = new WeakMap<Exchange, number>();
/** Whether the exchange's answer is among the replies received; each reply is looked at once. */
function answered(peer: Peer, exchange: Exchange): boolean {
  const messages = peer.ws.messages;
  for (let i = scanned.get(exchange) ?? 0; i < messages.length; i++) {
    if (exchange.answers(messages[i] as ServerFrame)) {
      exchange.check(messages[i] as ServerFrame);
      return true;
    }
  }
  scanned.set(exchange, messages.length);
  return false;
}

function bytesOfFrame(frame: Uint8Array, opcode: number): Buffer {
  return frameBytes(frame, { opcode });
}
