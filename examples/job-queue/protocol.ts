// The job-queue demo's protocol, in the spirit of the fetch_ml seed: jobs, datasets and metrics,
// each command guarded by the seed's permission strings.
import { command, defineProtocol, error, event, stream } from 'switchboard/protocol';
import { z } from 'zod';

export const JobState = z.enum(['queued', 'running', 'completed', 'cancelled']);
export const Job = z.object({
  id: z.string(),
  name: z.string(),
  commitId: z.string(),
  priority: z.number().int(),
  state: JobState,
  owner: z.string(),
  queuedAt: z.number(),
  note: z.string().optional(),
  args: z.array(z.string()).optional(),
});
export const LogLine = z.object({
  at: z.number(),
  level: z.enum(['info', 'warn', 'error']),
  text: z.string(),
});
export const Dataset = z.object({
  name: z.string(),
  url: z.string(),
  registeredBy: z.string(),
  registeredAt: z.number(),
});

export const jobQueue = defineProtocol({
  name: 'jobqueue',
  version: '1.0.0',
  resources: {
    jobs: {
      commands: {
        queue: command({
          input: z.object({
            name: z.string().min(1).max(255),
            commitId: z.string().regex(/^[0-9a-f]{40}$/, 'a 40-char hex commit id'),
            priority: z.number().int().min(0).max(9),
            args: z.array(z.string()).max(64).optional(),
            note: z.string().max(4096).optional(),
          }),
          output: Job,
          permission: 'jobs:create',
        }),
        status: command({
          input: z.object({ id: z.string().optional() }),
          output: z.object({ jobs: z.array(Job) }),
          permission: 'jobs:read',
        }),
        cancel: command({ input: z.object({ id: z.string() }), output: Job, permission: 'jobs:update' }),
        prune: command({
          input: z.union([
            z.object({ olderThanSeconds: z.number().int().min(0) }),
            z.object({ keepLast: z.number().int().min(0) }),
          ]),
          output: z.object({ pruned: z.number().int() }),
          permission: 'jobs:update',
        }),
        logs: stream({ input: z.object({ id: z.string() }), item: LogLine, permission: 'jobs:read' }),
      },
      events: { updated: event(Job) },
    },
    datasets: {
      commands: {
        register: command({
          input: z.object({ name: z.string().min(1).max(255), url: z.url() }),
          output: Dataset,
          permission: 'datasets:create',
        }),
        list: command({ input: z.object({}), output: z.array(Dataset), permission: 'datasets:read' }),
        info: command({
          input: z.object({ name: z.string() }),
          output: Dataset,
          permission: 'datasets:read',
        }),
        search: command({
          input: z.object({ term: z.string().min(1) }),
          output: z.array(Dataset),
          permission: 'datasets:read',
        }),
      },
    },
    metrics: {
      commands: {
        log: command({
          input: z.object({
            commitId: z.string().regex(/^[0-9a-f]{40}$/),
            step: z.number().int().min(0),
            value: z.number(),
            name: z.string().min(1).max(255),
          }),
          output: z.object({ recorded: z.number().int() }),
          permission: 'jobs:update',
        }),
      },
    },
  },
  errors: {
    JOB_NOT_FOUND: error('No such job', z.object({ id: z.string() })),
    JOB_FINISHED: error('The job has already finished', z.object({ id: z.string(), state: JobState })),
    DATASET_NOT_FOUND: error('No such dataset', z.object({ name: z.string() })),
    DATASET_EXISTS: error('A dataset with this name exists', z.object({ name: z.string() })),
  },
});

export type Job = z.infer<typeof Job>;
export type LogLine = z.infer<typeof LogLine>;
export type Dataset = z.infer<typeof Dataset>;
