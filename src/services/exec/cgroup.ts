import { type ChildProcess, spawn } from 'node:child_process';
import {
  accessSync,
  existsSync,
  constants as fsConstants,
  mkdirSync,
  readFileSync,
  rmdirSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { isAbsolute, join } from 'node:path';

/** How often, and how many times, a cgroup whose processes were killed is tried for removal. */
const REMOVE_RETRY_MS = 20;
const REMOVE_ATTEMPTS = 250;

/**
 * The shell script that puts a program in its cgroup before it can start anything: it waits for a
 * line on stdin, which the server writes only once it has moved the script's pid into the cgroup,
 * then runs the rest of its arguments (`env -i -- NAME=value… file args…`) with stdin from
 * /dev/null. The script itself runs with an empty environment, so no variable can change it.
 */
export const JOIN_THEN_EXEC = 'read line || exit 125; exec "$@" </dev/null';

/**
 * A cgroup v2 of one run. A process cannot leave its cgroup by making a session or a process group
 * of its own (`setsid`), and every child starts in its parent's, so killing the cgroup
 * (`cgroup.kill`, Linux 5.14) kills everything the program started, however it tried to escape.
 *
 * The files are kernel pseudo-files, not disk: they are read and written synchronously, which
 * keeps the moves and kills in order with the spawn and the signals around them.
 */
export class RunCgroup {
  private constructor(private readonly path: string) {}

  /**
   * Checks that `parent` is a cgroup v2 directory (not the root) in which cgroups can be killed.
   * @throws TypeError when it is not.
   */
  static checkParent(parent: string): void {
    if (!existsSync(join(parent, 'cgroup.procs')) || !existsSync(join(parent, 'cgroup.kill')))
      throw new TypeError(
        `exec: cgroup ${JSON.stringify(parent)} is not a non-root cgroup v2 directory with cgroup.kill`,
      );
  }

  /** Makes the cgroup `name` under `parent`. */
  static create(parent: string, name: string): RunCgroup {
    const path = join(parent, name);
    mkdirSync(path);
    return new RunCgroup(path);
  }

  /** Moves `pid` in. @throws the kernel's refusal (EACCES, ENOENT…). */
  join(pid: number): void {
    writeFileSync(join(this.path, 'cgroup.procs'), `${pid}\n`);
  }

  /** Sends `signal` to every process in it; false if there was none. */
  signal(signal: NodeJS.Signals): boolean {
    const pids = this.pids();
    for (const pid of pids) {
      try {
        process.kill(pid, signal);
      } catch {
        // ESRCH: it exited since the list was read.
      }
    }
    return pids.length > 0;
  }

  /** SIGKILL to every process in it, those forked meanwhile included; then removes it. */
  kill(): void {
    try {
      writeFileSync(join(this.path, 'cgroup.kill'), '1');
    } catch {
      // ENOENT: removed already, so nothing was left to kill.
    }
    this.remove();
  }

  /** Removes it once empty: the kernel refuses (EBUSY) until the killed processes are gone. */
  remove(attempts = REMOVE_ATTEMPTS): void {
    try {
      rmdirSync(this.path);
    } catch (error) {
      // Gone already (ENOENT), or a process the SIGKILL cannot end yet (stuck in the kernel) kept
      // it busy for seconds: it stays, empty or soon to be, and costs nothing but its name.
      if ((error as NodeJS.ErrnoException).code !== 'EBUSY' || attempts <= 0) return;
      setTimeout(() => this.remove(attempts - 1), REMOVE_RETRY_MS);
    }
  }

  private pids(): number[] {
    try {
      return readFileSync(join(this.path, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
    } catch {
      // Removed already: nothing in it.
      return [];
    }
  }
}

/** Options of a spawn, whether into a cgroup or not. */
export interface SpawnOptions {
  readonly cwd?: string;
  readonly env: Record<string, string>;
  readonly detached: boolean;
}

/**
 * Spawns programs into a cgroup of their own under `parent`: through `JOIN_THEN_EXEC`, which waits
 * until its pid has been moved in, so the program cannot start anything outside. The program's
 * `argv[0]` is then its file, not the name the caller wrote.
 * @throws TypeError if `parent` is not a usable cgroup v2 directory, or `env` is not on `path`.
 */
export function cgroupSpawner(parent: string, path: string) {
  RunCgroup.checkParent(parent);
  const envFile = path
    .split(':')
    .filter((directory) => isAbsolute(directory))
    .map((directory) => join(directory, 'env'))
    .find((file) => isExecutableSync(file));
  if (envFile === undefined) throw new TypeError('exec: cgroup needs `env` on the server PATH');
  let runs = 0;
  return (file: string, args: readonly string[], options: SpawnOptions) => {
    // env would take a file name with `=` for a variable.
    if (file.includes('='))
      throw new TypeError('exec: a program with "=" in its path cannot run in a cgroup');
    runs += 1;
    const cgroup = RunCgroup.create(parent, `run-${process.pid}-${runs}`);
    const assignments = Object.entries(options.env).map(([name, value]) => `${name}=${value}`);
    let child: ChildProcess;
    try {
      child = spawn(
        '/bin/sh',
        ['-c', JOIN_THEN_EXEC, 'sh', envFile, '-i', '--', ...assignments, file, ...args],
        {
          ...options,
          env: {},
          shell: false,
          stdio: ['pipe', 'pipe', 'pipe'],
        },
      );
    } catch (error) {
      cgroup.remove();
      throw error;
    }
    // EPIPE if the script died before reading its line: its exit tells the rest.
    child.stdin?.on('error', () => {});
    if (child.pid === undefined) return { child, cgroup };
    try {
      cgroup.join(child.pid);
    } catch (error) {
      // Not moved: it must not run outside. Its stdin closes without the line, and it exits.
      child.stdin?.destroy();
      child.kill('SIGKILL');
      cgroup.remove();
      throw error;
    }
    child.stdin?.end('\n');
    return { child, cgroup };
  };
}

function isExecutableSync(file: string): boolean {
  try {
    accessSync(file, fsConstants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}
