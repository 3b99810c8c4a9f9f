import { type ChildProcess, spawn } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { RequestError } from '../../protocol/errors.js';
import type { ServiceImplementation } from '../../server/service-types.js';
import { cgroupSpawner, type RunCgroup } from './cgroup.js';
import { EnvAllowList, MINIMAL_ENV } from './environment.js';
import { Run } from './run.js';
import type { ExecService } from './service.js';

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
  /** Variables every process gets, over `MINIMAL_ENV`. A caller can change them only if `allowEnv` names them. */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * Variables a caller may set: exact names, or prefixes with a trailing `*` (`'APP_*'`). Any other
   * variable in a call is refused with `ENV_NOT_ALLOWED`. Default: none. Name only variables that
   * cannot make an allowed program run code of the caller's choosing (not `LD_*`, `BASH_FUNC_*`,
   * `PYTHON*`, `HOME`, `*_OPTIONS`…).
   */
  readonly allowEnv?: readonly string[];
  /** Kill a process that runs longer, and fail the call with `EXEC_TIMEOUT`. 0 = no limit. */
  readonly timeoutMs?: number;
  /** Kill a process that writes more (stdout and stderr together), and fail with `EXEC_OUTPUT_LIMIT`. */
  readonly maxOutputBytes?: number;
  /** How long after SIGTERM a process gets before SIGKILL. */
  readonly killGraceMs?: number;
  /**
   * A cgroup v2 directory (not the root) the server may make cgroups in, e.g. a delegated
   * subtree. Each run then gets a cgroup of its own there, joined before the program starts, and
   * is killed through it: what left the process group (`setsid`, a daemon) dies too. Default: none.
   */
  readonly cgroup?: string;
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
  const allowEnv = new EnvAllowList(options.allowEnv ?? []);
  const cgroup = options.cgroup === undefined ? undefined : cgroupSpawner(options.cgroup, serverPath);

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
          if (!allowEnv.allows(name))
            ctx.fail('ENV_NOT_ALLOWED', `the caller may not set ${JSON.stringify(name)}`, { name });
        }
        const file = await executable(program, serverPath, options.cwd);
        if (file === undefined)
          throw new RequestError('EXEC_FAILED', `${JSON.stringify(program)} was not found`);
        ctx.signal.throwIfAborted();
        const spawnOptions = {
          ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
          env: { ...MINIMAL_ENV, ...options.env, ...env },
          // Its own process group, so a kill reaches whatever it started too.
          detached: true,
        };
        let started: { readonly child: ChildProcess; readonly cgroup?: RunCgroup };
        try {
          started = cgroup
            ? cgroup(file, args.slice(1), spawnOptions)
            : {
                child: spawn(file, args.slice(1), {
                  ...spawnOptions,
                  argv0: program,
                  shell: false,
                  stdio: ['ignore', 'pipe', 'pipe'],
                }),
              };
        } catch {
          // Most failures (ENOENT, EACCES, a missing cwd) come as the child's 'error'; a few throw.
          throw new RequestError('EXEC_FAILED', `${JSON.stringify(program)} could not be started`);
        }
        const run = new Run(
          started.child,
          { timeoutMs, maxOutputBytes, killGraceMs, program },
          started.cgroup,
        );
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
          // Ended, cancelled, or the reader stopped: nothing of the process outlives the call.
          run.dispose();
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
