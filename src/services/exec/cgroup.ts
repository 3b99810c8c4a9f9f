import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

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
