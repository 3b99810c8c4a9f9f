// The job-queue demo's protocol with what the fetch_ml wire needs on top: the queue variants' fields
// (snapshot, tracking, force), get logs, experiments and runs. Everything else is the demo's, unchanged.
import { command, defineProtocol, error } from 'switchboard/protocol';
import { z } from 'zod';
import { Job, jobQueue, LogLine } from '../protocol.js';

const base = jobQueue.definition;
const commitId = z.string().regex(/^[0-9a-f]{40}$/, 'a 40-char hex commit id');

export const Annotation = z.object({ author: z.string(), note: z.string(), at: z.number() });
export const MetricPoint = z.object({
  commitId: z.string(),
  step: z.number(),
  value: z.number(),
  name: z.string(),
});
export const Experiment = z.object({
  commitId: z.string(),
  jobs: z.array(Job),
  metrics: z.array(MetricPoint),
});
export const RunInfo = z.object({
  job: Job,
  annotations: z.array(Annotation),
  narrative: z.record(z.string(), z.unknown()),
  snapshotId: z.string().optional(),
  tracking: z.record(z.string(), z.unknown()).optional(),
});

export const fetchmlJobQueue = defineProtocol({
  name: base.name,
  version: base.version,
  resources: {
    ...base.resources,
    jobs: {
      ...base.resources.jobs,
      commands: {
        ...base.resources.jobs.commands,
        // The demo's queue plus the variants' fields. Without `force`, a job with the same name and
        // commit that is still queued or running is refused (fetch_ml's duplicate detection).
        queue: command({
          input: base.resources.jobs.commands.queue.input.extend({
            snapshotId: z.string().min(1).max(255).optional(),
            tracking: z.record(z.string(), z.unknown()).optional(),
            force: z.boolean().optional(),
          }),
          output: Job,
          permission: 'jobs:create',
        }),
        /** The job's log so far, at once (the seed's GetLogs). */
        getLogs: command({
          input: z.object({ id: z.string() }),
          output: z.object({ id: z.string(), lines: z.array(LogLine) }),
          permission: 'jobs:read',
        }),
      },
    },
    experiments: {
      commands: {
        get: command({ input: z.object({ commitId }), output: Experiment, permission: 'jobs:read' }),
      },
    },
    runs: {
      commands: {
        annotate: command({
          input: z.object({
            id: z.string(),
            author: z.string().min(1).max(255),
            note: z.string().max(65535),
          }),
          output: z.object({ id: z.string(), annotations: z.array(Annotation) }),
          permission: 'jobs:update',
        }),
        narrative: command({
          input: z.object({ id: z.string(), patch: z.record(z.string(), z.unknown()) }),
          output: z.object({ id: z.string(), narrative: z.record(z.string(), z.unknown()) }),
          permission: 'jobs:update',
        }),
        info: command({ input: z.object({ id: z.string() }), output: RunInfo, permission: 'jobs:read' }),
      },
    },
  },
  errors: {
    ...base.errors,
    JOB_DUPLICATE: error('The same job is already queued or running', z.object({ id: z.string() })),
  },
});

export type Annotation = z.infer<typeof Annotation>;
export type Experiment = z.infer<typeof Experiment>;
export type RunInfo = z.infer<typeof RunInfo>;
