import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';

/**
 * A real process that swaps pairs of names atomically, as fast as it can, with
 * `renameat2(RENAME_EXCHANGE)`: no Node API has that syscall, so it runs in python3 through
 * ctypes (glibc's `renameat2`). Missing python3, a libc without `renameat2` or a file system
 * without `RENAME_EXCHANGE` make `startSwapper` reject: the race tests fail, they never skip.
 * A name that is missing (the tree was removed or moved away) is simply retried.
 */
const SCRIPT = `
import ctypes, errno, signal, sys
libc = ctypes.CDLL(None, use_errno=True)
renameat2 = libc.renameat2
renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
AT_FDCWD, RENAME_EXCHANGE = -100, 2
pairs = [tuple(part.encode() for part in arg.split(':')) for arg in sys.argv[1:]]
stop = False
def on_term(*_):
    global stop
    stop = True
signal.signal(signal.SIGTERM, on_term)
swaps = 0
attempts = 0
print('ready', flush=True)
while not stop:
    for a, b in pairs:
        attempts += 1
        if renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE) == 0:
            swaps += 1
        else:
            code = ctypes.get_errno()
            if code not in (errno.ENOENT, errno.ENOTDIR):
                print('renameat2 failed: ' + errno.errorcode.get(code, str(code)), flush=True)
                sys.exit(3)
print(f'{swaps} {attempts}', flush=True)
`;

/** How many exchanges succeeded, of how many tried. */
export interface SwapCount {
  readonly swaps: number;
  readonly attempts: number;
}

/** A running swapper; `stop` ends it and says how much it swapped. */
export interface Swapper {
  stop(): Promise<SwapCount>;
}

/** Starts swapping each `a:b` pair (paths relative to `cwd`); resolves once the loop runs. */
export function startSwapper(cwd: string, pairs: readonly string[], timeoutMs = 10_000): Promise<Swapper> {
  const child: ChildProcessWithoutNullStreams = spawn('python3', ['-c', SCRIPT, ...pairs], { cwd });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  const stop = async (): Promise<SwapCount> => {
    child.kill('SIGTERM');
    const code = await exited;
    const last = out.trim().split('\n').at(-1) ?? '';
    const match = /^(\d+) (\d+)$/.exec(last);
    if (code !== 0 || !match)
      throw new Error(`swapper failed (exit ${code}): ${out.trim()} ${err.trim()}`.trim());
    return { swaps: Number(match[1]), attempts: Number(match[2]) };
  };
  return new Promise<Swapper>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`swapper did not start within ${timeoutMs} ms: ${err.trim()}`));
    }, timeoutMs);
    const onData = () => {
      if (!out.startsWith('ready\n')) return;
      clearTimeout(timer);
      child.stdout.off('data', onData);
      resolve({ stop });
    };
    child.stdout.on('data', onData);
    exited.then(
      (code) => {
        clearTimeout(timer);
        reject(new Error(`swapper exited (${code}) before starting: ${out.trim()} ${err.trim()}`.trim()));
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
