import { type ChildProcess, spawn } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { constants as osConstants } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { RequestError } from '../../protocol/errors.js';
import type { ServiceImplementation } from '../../server/service-types.js';
import type { ExecItem, ExecService } from './service.js';

/** How an exec server behaves. Nothing runs unless `enabled` is true and the program is allowed. */
export interface ExecOptions {
  /** Off by default: every `run` fails with `EXEC_DISABLED`. */
  readonly enabled?: boolean;
  /**
   * Programs that may run, matched exactly against `args[0]`: a bare name (`echo`, looked up on
   * the server's `PATH`, never the caller's) or an absolute path (`/bin/echo`).
   */
  readonly allow?: readonly string[];
  /** The working directory of every process (e.g. the files root). Default: the server's. */
  readonly cwd?: string;
  /** Variables over the minimal environment, under the caller's. */
  readonly env?: Readonly<Record<string, string>>;
  /** Kill a process that runs longer, and fail the call with `EXEC_TIMEOUT`. 0 = no limit. */
  readonly timeoutMs?: number;
  /** Kill a process that writes more (stdout and stderr together), and fail with `EXEC_OUTPUT_LIMIT`. */
  readonly maxOutputBytes?: number;
  /** How long after SIGTERM a process gets before SIGKILL. */
  readonly killGraceMs?: number;
  /**
   * Variables a caller may not set, by exact name or pattern: those that make an allowed program
   * load code of the caller's choosing. Default `DENIED_ENV`; `[]` lets callers set anything.
   */
  readonly denyEnv?: readonly (string | RegExp)[];
}

/** The defaults of `exec()`'s options. */
export const EXEC_DEFAULTS = {
  /** No time limit: a process runs until it exits or the call is cancelled. */
  timeoutMs: 0,
  /** 16 MiB of output. */
  maxOutputBytes: 16 * 1024 * 1024,
  /** Two seconds to clean up after SIGTERM. */
  killGraceMs: 2000,
} as const;

/**
 * What every process starts with, before the server's and the caller's variables: nothing of the
 * server's own environment (its secrets) leaks in.
 */
export const MINIMAL_ENV: Readonly<Record<string, string>> = {
  PATH: '/usr/local/bin:/usr/bin:/bin',
  LANG: 'C.UTF-8',
};

/**
 * Variables that make a program load or run code other than its own: the dynamic loader's, and
 * the start-up hooks of common interpreters and shells. With the files service, a caller could
 * otherwise write a library into the root and have an allowed `echo` load it.
 */
export const DENIED_ENV: readonly (string | RegExp)[] = [
  /^LD_/,
  /^DYLD_/,
  'GCONV_PATH',
  'NODE_OPTIONS',
  'NODE_PATH',
  'BASH_ENV',
  'ENV',
  'SHELLOPTS',
  'PS4',
  'PYTHONSTARTUP',
  'PYTHONPATH',
  'PYTHONHOME',
  'PERL5OPT',
  'PERL5LIB',
  'PERLLIB',
  'RUBYOPT',
  'RUBYLIB',
];

/** Output held for a slow reader before the process's pipes are paused. */
const PAUSE_BYTES = 1024 * 1024;

/** One exec instance's state: the processes running, by the session that started them. */
export interface ExecState {
  readonly running: Map<number, Set<{ kill(): void }>>;
}

/**
 * The exec service: runs allowed programs without a shell and streams their output.
 *
 * @example
 * createServer({ ..., services: { exec: exec({ enabled: true, allow: ['node', '/bin/echo'], cwd: root }) } });
 */
export function exec(options: ExecOptions = {}): ServiceImplementation<ExecService, ExecState> {
  const allow = new Set(options.allow ?? []);
  const timeoutMs = options.timeoutMs ?? EXEC_DEFAULTS.timeoutMs;
  const maxOutputBytes = options.maxOutputBytes ?? EXEC_DEFAULTS.maxOutputBytes;
  const killGraceMs = options.killGraceMs ?? EXEC_DEFAULTS.killGraceMs;
  const serverPath = options.env?.PATH ?? MINIMAL_ENV.PATH ?? '';
  const denyEnv = options.denyEnv ?? DENIED_ENV;
  const denied = (name: string) =>
    denyEnv.some((rule) => (typeof rule === 'string' ? rule === name : rule.test(name)));

  return {
    create: () => ({ running: new Map() }),
    // A session that leaves (or an instance that ends) takes its processes with it, whatever
    // becomes of the calls that started them.
    detached: ({ state, session }) => {
      for (const run of state.running.get(session.id) ?? []) run.kill();
    },
    dispose: (state) => {
      for (const runs of state.running.values()) for (const run of runs) run.kill();
    },
    handlers: {
      async *run({ args, env }, ctx) {
        if (options.enabled !== true)
          ctx.fail('EXEC_DISABLED', 'Running programs is disabled on this server');
        const program = args[0] as string;
        if (!allow.has(program))
          ctx.fail('COMMAND_NOT_ALLOWED', `${JSON.stringify(program)} is not allowed`, { program });
        for (const name of Object.keys(env ?? {})) {
          if (denied(name))
            ctx.fail('ENV_NOT_ALLOWED', `the caller may not set ${JSON.stringify(name)}`, { name });
        }
        const file = await executable(program, serverPath, options.cwd);
        if (file === undefined)
          throw new RequestError('EXEC_FAILED', `${JSON.stringify(program)} was not found`);
        ctx.signal.throwIfAborted();
        let child: ChildProcess;
        try {
          child = spawn(file, args.slice(1), {
            argv0: program,
            ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
            env: { ...MINIMAL_ENV, ...options.env, ...env },
            shell: false,
            stdio: ['ignore', 'pipe', 'pipe'],
            // Its own process group, so a kill reaches whatever it started too.
            detached: true,
          });
        } catch {
          // Most failures (ENOENT, EACCES, a missing cwd) come as the child's 'error'; a few throw.
          throw new RequestError('EXEC_FAILED', `${JSON.stringify(program)} could not be started`);
        }
        const run = new Run(child, { timeoutMs, maxOutputBytes, killGraceMs, program });
        const onAbort = () => run.kill();
        ctx.signal.addEventListener('abort', onAbort, { once: true });
        let runs = ctx.state.running.get(ctx.session.id);
        if (!runs) {
          runs = new Set();
          ctx.state.running.set(ctx.session.id, runs);
        }
        runs.add(run);
        try {
          yield* run.items();
        } finally {
          ctx.signal.removeEventListener('abort', onAbort);
          runs.delete(run);
          if (runs.size === 0) ctx.state.running.delete(ctx.session.id);
          // Cancelled, or the reader stopped: the process must not outlive the call.
          run.kill();
        }
      },
    },
  };
}

/** The absolute file for an allowed program: itself if it has a slash, else found on `path`. */
async function executable(
  program: string,
  path: string,
  cwd: string | undefined,
): Promise<string | undefined> {
  if (program.includes('/')) {
    const file = isAbsolute(program) || cwd === undefined ? program : join(cwd, program);
    return (await isExecutable(file)) ? program : undefined;
  }
  for (const directory of path.split(':')) {
    if (!isAbsolute(directory)) continue;
    const file = join(directory, program);
    if (await isExecutable(file)) return file;
  }
  return undefined;
}

async function isExecutable(file: string): Promise<boolean> {
  try {
    await access(file, fsConstants.X_OK);
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

/** The exit code of a process killed by a signal: 128 + its number, as shells report it. */
export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (osConstants.signals[signal] ?? 0);
}

/** One running process, seen as a queue of items the reader pulls. */
class Run {
  private readonly queue: ExecItem[] = [];
  private queuedBytes = 0;
  private outputBytes = 0;
  private wake: (() => void) | undefined;
  private outcome: { readonly code: number } | { readonly error: unknown } | undefined;
  /** Why we killed it, if we did: the call then fails with this instead of reporting the exit. */
  private failure: RequestError | undefined;
  private readonly timers: ReturnType<typeof setTimeout>[] = [];
  private exited = false;

  constructor(
    private readonly child: ChildProcess,
    private readonly limits: {
      readonly timeoutMs: number;
      readonly maxOutputBytes: number;
      readonly killGraceMs: number;
      readonly program: string;
    },
  ) {
    this.pipe(child.stdout, 'output');
    this.pipe(child.stderr, 'error');
    child.on('error', (error) => {
      // Spawning failed (or a kill did, after exit): nothing else will come.
      if (child.pid === undefined) this.finish({ error });
    });
    child.on('close', (code, signal) => {
      this.finish({ code: code ?? signalExitCode(signal ?? 'SIGKILL') });
    });
    if (limits.timeoutMs > 0) {
      this.timers.push(
        setTimeout(() => {
          this.failure ??= new RequestError(
            'EXEC_TIMEOUT',
            `${JSON.stringify(limits.program)} ran longer than ${limits.timeoutMs} ms`,
            { timeoutMs: limits.timeoutMs },
          );
          this.kill();
        }, limits.timeoutMs),
      );
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

  /** SIGTERM to the process group, then SIGKILL after the grace; nothing once it has exited. */
  kill(): void {
    if (this.exited || this.child.pid === undefined) return;
    this.signal('SIGTERM');
    const timer = setTimeout(() => this.signal('SIGKILL'), this.limits.killGraceMs);
    this.timers.push(timer);
  }

  private signal(signal: NodeJS.Signals): void {
    if (this.exited || this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, signal);
    } catch {
      // The group is gone already (ESRCH): it exited between our check and the kill.
    }
  }

  private pipe(stream: NodeJS.ReadableStream | null, kind: 'output' | 'error'): void {
    if (!stream) return;
    // One decoder per stream, so a character split across two chunks comes out whole.
    const decoder = new StringDecoder('utf8');
    stream.on('data', (chunk: Buffer) => {
      if (this.failure) return;
      this.outputBytes += chunk.length;
      if (this.outputBytes > this.limits.maxOutputBytes) {
        this.failure = new RequestError(
          'EXEC_OUTPUT_LIMIT',
          `${JSON.stringify(this.limits.program)} wrote more than ${this.limits.maxOutputBytes} bytes`,
          { maxOutputBytes: this.limits.maxOutputBytes },
        );
        this.kill();
        return;
      }
      this.push(kind, decoder.write(chunk));
    });
    stream.on('end', () => this.push(kind, decoder.end()));
  }

  private push(kind: 'output' | 'error', data: string): void {
    if (data === '') return;
    this.queue.push({ kind, data });
    this.queuedBytes += data.length;
    if (this.queuedBytes >= PAUSE_BYTES) {
      this.child.stdout?.pause();
      this.child.stderr?.pause();
    }
    this.notify();
  }

  private resume(): void {
    this.child.stdout?.resume();
    this.child.stderr?.resume();
  }

  private finish(outcome: { readonly code: number } | { readonly error: unknown }): void {
    if (this.outcome) return;
    this.exited = true;
    this.outcome = outcome;
    for (const timer of this.timers) clearTimeout(timer);
    this.notify();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
