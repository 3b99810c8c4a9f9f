import { type ChildProcess, fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { BusterPeer, token } from './fixtures.js';

/** The server process's memory after a full GC. */
export interface Memory {
  readonly rss: number;
  readonly heapUsed: number;
}

/** A Buster server (memory bus) in a child process, so that RSS is the server's alone. */
export class FloodNode {
  private constructor(
    readonly child: ChildProcess,
    readonly port: number,
  ) {}

  static async start(settings: Record<string, number> = {}): Promise<FloodNode> {
    const child = fork(
      new URL('./nodes/buster-flood-node.ts', import.meta.url).pathname,
      [JSON.stringify(settings)],
      { execArgv: ['--import', 'tsx', '--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
    );
    const port = await new Promise<number>((resolve, reject) => {
      child.once('message', (message: { port: number }) => resolve(message.port));
      child.once('exit', (code) => reject(new Error(`flood node exited with ${code}`)));
    });
    return new FloodNode(child, port);
  }

  url(jwt: string): string {
    return `ws://127.0.0.1:${this.port}/api/v1/ws?authentication=${jwt}`;
  }

  memory(): Promise<Memory> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the flood node did not report its memory')), 10_000);
      this.child.once('message', (message: Memory) => {
        clearTimeout(timer);
        resolve({ rss: message.rss, heapUsed: message.heapUsed });
      });
      this.child.send({ type: 'memory' });
    });
  }

  /** Whether the process is still running (it never exits on its own). */
  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  stop(): void {
    this.child.kill('SIGKILL');
  }
}

/** A well-behaved client: one request at a time, each reply checked to the byte. */
export class Witness {
  sent = 0;
  /** Replies that were not exactly what the request asked for. */
  readonly wrong: string[] = [];
  /** Requests whose reply did not come within the timeout. */
  lost = 0;
  private stopped = false;
  private loop: Promise<void> | undefined;

  private constructor(
    private readonly peer: BusterPeer,
    readonly userId: string,
  ) {}

  static async open(node: FloodNode): Promise<Witness> {
    const userId = randomUUID();
    const peer = await BusterPeer.open(node.url(await token(userId, { name: 'witness' })));
    return new Witness(peer, userId);
  }

  /** One request; its reply must be the exact frame `/sql/run` gives for an `sql` of length `n`. */
  async call(n: number, timeoutMs = 5000): Promise<void> {
    this.sent++;
    this.peer.send('/sql/run', { sql: 'x'.repeat(n) });
    const expected = `{"route":"/sql/run","event":"runSql","payload":{"rows":[{"n":${n}}]},"sent_by":{"id":"${this.userId}","name":"witness"},"error":null,"send_method":"SenderOnly"}`;
    try {
      const { text } = await this.peer.next(() => true, timeoutMs);
      if (text !== expected) this.wrong.push(text);
    } catch {
      // Timed out: counted, and the run goes on so the report says how many.
      this.lost++;
    }
  }

  /** Calls one after another until `stop()`. */
  start(): void {
    this.loop = (async () => {
      for (let i = 1; !this.stopped; i++) await this.call((i % 100) + 1);
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }

  close(): void {
    this.peer.close();
  }
}

/** What the flooder saw. */
export interface FloodOutcome {
  readonly replies: Record<string, any>[];
  readonly close: { code: number; reason: string } | undefined;
}

/**
 * One authenticated client sends `count` `/sql/run` requests without waiting (about 60 bytes
 * each), then waits until its connection closes or `quietMs` pass with no new reply.
 */
export async function flood(node: FloodNode, count: number, quietMs = 2000): Promise<FloodOutcome> {
  const userId = randomUUID();
  const peer = await BusterPeer.open(node.url(await token(userId, { name: 'flooder' })));
  let close: FloodOutcome['close'];
  void peer.closed.then((value) => {
    close = value;
  });
  for (let i = 0; i < count; i++) peer.send('/sql/run', { sql: `select ${i} from flood` });
  let seen = -1;
  while (close === undefined && peer.messages.length !== seen) {
    seen = peer.messages.length;
    await Promise.race([
      peer.closed,
      peer
        .waitFor(() => (peer.messages.length > seen ? true : undefined), quietMs)
        .catch(() => {
          // Quiet for quietMs: the loop ends.
        }),
    ]);
  }
  if (close === undefined) peer.ws.terminate();
  return { replies: peer.messages, close };
}
