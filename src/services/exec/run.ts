import type { ChildProcess } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import { StringDecoder } from 'node:string_decoder';
import { RequestError } from '../../protocol/errors.js';
import type { RunCgroup } from './cgroup.js';
import type { ExecItem } from './service.js';

/** Output held for a slow reader before the process's pipes are paused. */
const PAUSE_BYTES = 1024 * 1024;

/** The exit code of a process killed by a signal: 128 + its number, as shells report it. */
export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (osConstants.signals[signal] ?? 0);
}

/** The limits one run is held to. */
export interface RunLimits {
  readonly timeoutMs: number;
  readonly maxOutputBytes: number;
  readonly killGraceMs: number;
  readonly program: string;
}

/**
 * One running program, seen as a queue of items the reader pulls.
 *
 * The program is the leader of its own process group. The call ends when the leader exits (not
 * when its pipes close, which a background child can put off forever): what it wrote is read,
 * then the pipes are let go, and whatever is left in its group gets SIGTERM, then SIGKILL after
 * the grace, whatever the leader did.
 */
export class Run {
  private readonly queue: ExecItem[] = [];
  private queuedBytes = 0;
  private outputBytes = 0;
  private paused = false;
  private wake: (() => void) | undefined;
  private outcome: { readonly code: number } | { readonly error: unknown } | undefined;
  /** Why we killed it, if we did: the call then fails with this instead of reporting the exit. */
  private failure: RequestError | undefined;
  private timeout: ReturnType<typeof setTimeout> | undefined;
  /** The leader's exit code once it has exited: the call ends when what it wrote is read. */
  private exitCode: number | undefined;
  /** Bumped by each drain, so only the latest one (after the latest resume) may end the call. */
  private drains = 0;
  private groupKilled = false;
  /** Flushes each stream's decoder, once: a character cut short becomes U+FFFD. */
  private readonly flushes: (() => void)[] = [];

  constructor(
    private readonly child: ChildProcess,
    private readonly limits: RunLimits,
    /** The run's own cgroup, if the server gave one: it reaches what left the process group. */
    private readonly cgroup?: RunCgroup,
  ) {
    this.pipe(child.stdout, 'output');
    this.pipe(child.stderr, 'error');
    child.on('error', (error) => {
      // Spawning failed (or a kill did, after exit): nothing else will come.
      if (child.pid === undefined) this.finish({ error });
    });
    child.on('exit', (code, signal) => {
      clearTimeout(this.timeout);
      this.exitCode = code ?? signalExitCode(signal ?? 'SIGKILL');
      // What the program left behind in its group goes with it.
      this.killGroup();
      this.drain();
    });
    if (limits.timeoutMs > 0) {
      this.timeout = setTimeout(() => {
        this.failure ??= new RequestError(
          'EXEC_TIMEOUT',
          `${JSON.stringify(limits.program)} ran longer than ${limits.timeoutMs} ms`,
          { timeoutMs: limits.timeoutMs },
        );
        this.killGroup();
      }, limits.timeoutMs);
    }
  }

  /** Items as the process produces them; the exit last, or the reason it was killed. */
  async *items(): AsyncGenerator<ExecItem> {
    for (;;) {
      const item = this.queue.shift();
      if (item) {
        if (item.kind !== 'exit') this.queuedBytes -= item.data.length;
        if (this.queuedBytes < PAUSE_BYTES) this.resume();
        yield item;
        continue;
      }
      const outcome = this.outcome;
      if (outcome) {
        if (this.failure) throw this.failure;
        if ('error' in outcome)
          throw new RequestError(
            'EXEC_FAILED',
            `${JSON.stringify(this.limits.program)} could not be started`,
          );
        yield { kind: 'exit', code: outcome.code };
        return;
      }
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }

  /** Cancel, leave, timeout or limit: the process group is killed; the exit still ends the call. */
  kill(): void {
    this.killGroup();
  }

  /** The call is over: the process group is killed and the pipes are let go. */
  dispose(): void {
    this.killGroup();
    this.closePipes();
    clearTimeout(this.timeout);
  }

  /**
   * SIGTERM to the process group (and to every process of the run's cgroup), then SIGKILL after the
   * grace, once per run. Nothing cancels the SIGKILL (the leader's exit least of all: its children
   * may ignore SIGTERM), unless nothing was left to signal when the SIGTERM went.
   */
  private killGroup(): void {
    const pid = this.child.pid;
    if (this.groupKilled || pid === undefined) return;
    this.groupKilled = true;
    const inGroup = signalGroup(pid, 'SIGTERM');
    const inCgroup = this.cgroup?.signal('SIGTERM') ?? false;
    if (!inGroup && !inCgroup) {
      this.cgroup?.remove();
      return;
    }
    setTimeout(() => {
      signalGroup(pid, 'SIGKILL');
      this.cgroup?.kill();
    }, this.limits.killGraceMs);
  }

  /**
   * After the leader's exit, all it wrote is in the pipes already. The second turn of the event
   * loop from here comes after a whole poll of the pipes that began after the exit; a poll reads
   * a readable pipe until it is empty or 32 reads were made, so the call ends after the first such
   * turn that read nothing, not when the last other holder of the pipes (a background child) lets
   * go. A paused reader drains again on resume; output past the limit is not counted, so a writer
   * that goes on cannot hold the call open past `maxOutputBytes`.
   */
  private drain(): void {
    if (this.exitCode === undefined || this.paused || this.outcome) return;
    const turn = ++this.drains;
    const read = this.outputBytes;
    setImmediate(() =>
      setImmediate(() => {
        if (turn !== this.drains || this.paused || this.exitCode === undefined) return;
        if (this.outputBytes !== read) this.drain();
        else this.finish({ code: this.exitCode });
      }),
    );
  }

  private pipe(stream: NodeJS.ReadableStream | null, kind: 'output' | 'error'): void {
    if (!stream) return;
    // One decoder per stream, so a character split across two chunks comes out whole.
    const decoder = new StringDecoder('utf8');
    let flushed = false;
    const flush = () => {
      if (flushed) return;
      flushed = true;
      if (!this.failure) this.push(kind, decoder.end());
    };
    this.flushes.push(flush);
    stream.on('data', (chunk: Buffer) => {
      if (this.failure || flushed) return;
      this.outputBytes += chunk.length;
      if (this.outputBytes > this.limits.maxOutputBytes) {
        this.failure = new RequestError(
          'EXEC_OUTPUT_LIMIT',
          `${JSON.stringify(this.limits.program)} wrote more than ${this.limits.maxOutputBytes} bytes`,
          { maxOutputBytes: this.limits.maxOutputBytes },
        );
        this.killGroup();
        return;
      }
      this.push(kind, decoder.write(chunk));
    });
    stream.on('end', flush);
  }

  /** Flushes the decoders and closes our ends: a holder still writing gets EPIPE or SIGPIPE. */
  private closePipes(): void {
    for (const flush of this.flushes) flush();
    this.child.stdout?.destroy();
    this.child.stderr?.destroy();
  }

  private push(kind: 'output' | 'error', data: string): void {
    if (data === '') return;
    this.queue.push({ kind, data });
    this.queuedBytes += data.length;
    if (this.queuedBytes >= PAUSE_BYTES && !this.paused) {
      this.paused = true;
      this.child.stdout?.pause();
      this.child.stderr?.pause();
    }
    this.notify();
  }

  private resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.child.stdout?.resume();
    this.child.stderr?.resume();
    this.drain();
  }

  private finish(outcome: { readonly code: number } | { readonly error: unknown }): void {
    if (this.outcome) return;
    this.closePipes();
    // Never started: its cgroup, if any, is empty.
    if ('error' in outcome) this.cgroup?.remove();
    this.outcome = outcome;
    clearTimeout(this.timeout);
    this.notify();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}

/**
 * Sends `signal` to the process group `pgid`; false if the group is empty. The group id is the
 * leader's pid, which the kernel does not hand out again while any member lives.
 */
function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    // ESRCH: every member has exited; EPERM: none is ours to signal (a setuid program).
    return false;
  }
}
