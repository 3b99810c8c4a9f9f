import type { GovalServiceMapping } from '../mapping.js';
import { okBody, record, string } from '../values.js';

/**
 * The exec service over goval: `exec{args, env, blocking}` runs the `run` stream. Output items are
 * `output` (stdout) and `error` (stderr) bodies without the ref, so that a client's pending request
 * is not answered by the first chunk; the exit item answers it, with the ref: `ok` for code 0,
 * `error: "exit status N"` otherwise (Go's `exec.ExitError` text). The stream's end is then not sent.
 */
export const execMapping: GovalServiceMapping = {
  requests: {
    exec: (exec) => ({
      command: 'run',
      input: {
        args: [...exec.args],
        ...(Object.keys(exec.env).length === 0 ? {} : { env: { ...exec.env } }),
        ...(exec.blocking ? { blocking: true } : {}),
      },
    }),
  },
  items: {
    run: (value) => {
      const item = record(value, 'exec.run item');
      switch (item.kind) {
        case 'output':
          return { body: { case: 'output', value: string(item.data, 'exec.run item.data') }, answers: false };
        case 'error':
          return { body: { case: 'error', value: string(item.data, 'exec.run item.data') }, answers: false };
        case 'exit': {
          const code = item.code;
          if (!Number.isInteger(code)) throw new TypeError('goval: exec.run exit code must be an integer');
          return code === 0
            ? { body: okBody(), answers: true }
            : { body: { case: 'error', value: `exit status ${code}` }, answers: true };
        }
        default:
          throw new TypeError(`goval: unknown exec.run item kind ${String(item.kind)}`);
      }
    },
  },
  answeredByItem: ['run'],
};
