import { z } from 'zod';
import { error, service, stream } from '../../protocol/define.js';

/** An environment variable name: no `=` and no NUL, as execve requires. */
const EnvName = z.string().regex(/^[^=\0]+$/);

/** One item of `run`: a chunk of stdout (`output`), of stderr (`error`), or the exit, always last. */
export const ExecItem = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('output'), data: z.string() }),
  z.object({ kind: z.literal('error'), data: z.string() }),
  z.object({ kind: z.literal('exit'), code: z.number().int() }),
]);
export type ExecItem = z.infer<typeof ExecItem>;

/**
 * Running programs on the server (goval's `exec`): off unless the server enables it, and only
 * the programs its allow-list names. Output streams as it comes; cancelling the call kills the
 * process.
 */
export const execService = service({
  description: 'Runs allowed programs and streams their output',
  commands: {
    run: stream({
      input: z.object({
        // argv, program first; no NUL anywhere, which execve could not pass.
        args: z.array(z.string().regex(/^[^\0]*$/)).min(1),
        env: z.record(EnvName, z.string().regex(/^[^\0]*$/)).optional(),
        blocking: z.boolean().optional(),
      }),
      item: ExecItem,
      description: 'Runs argv without a shell: stdout and stderr chunks as they come, then the exit code',
    }),
  },
  errors: {
    EXEC_DISABLED: error('Running programs is disabled on this server'),
    COMMAND_NOT_ALLOWED: error('The program is not on the allow-list', z.object({ program: z.string() })),
    ENV_NOT_ALLOWED: error(
      'The server does not let callers set this environment variable',
      z.object({ name: z.string() }),
    ),
    EXEC_FAILED: error('The program could not be started'),
    EXEC_TIMEOUT: error(
      'The program ran past its time limit and was killed',
      z.object({ timeoutMs: z.number() }),
    ),
    EXEC_OUTPUT_LIMIT: error(
      'The program wrote more than the output limit and was killed',
      z.object({ maxOutputBytes: z.number() }),
    ),
  },
});

/** The exec service's definition type. */
export type ExecService = typeof execService;
