// The demo's handlers, wrapped: the fetch_ml frames name jobs by id or by job name, queue with
// variants, and reach experiments and run records the demo does not have.
import type { Context, Handlers } from 'switchboard/server';
import type { DatasetCatalog } from '../datasets.js';
import { jobQueueHandlers } from '../handlers.js';
import type { JobQueue } from '../jobs.js';
import type { MetricLog } from '../metrics.js';
import type { jobQueue } from '../protocol.js';
import type { fetchmlJobQueue } from './protocol.js';
import type { RunBook } from './runs.js';

type Ctx = Context<typeof fetchmlJobQueue>;

export function fetchmlJobQueueHandlers(
  jobs: JobQueue,
  datasets: DatasetCatalog,
  metrics: MetricLog,
  runs: RunBook,
): Handlers<typeof fetchmlJobQueue> {
  const base = jobQueueHandlers(jobs, datasets, metrics);
  // The demo's handlers only use fail/principal/signal, which both protocols' contexts share.
  const asBase = (ctx: Ctx) => ctx as unknown as Context<typeof jobQueue>;
  /** fetch_ml frames carry a job name where the demo has ids: an id wins, else the newest job of that name. */
  const resolve = (ref: string) =>
    jobs.get(ref)?.id ??
    jobs
      .list()
      .filter((job) => job.name === ref)
      .sort(newestFirst)[0]?.id ??
    ref;
  const job = (ref: string, ctx: Ctx) => {
    const id = resolve(ref);
    return jobs.get(id) ?? ctx.fail('JOB_NOT_FOUND', `no job ${ref}`, { id: ref });
  };
  type Own = Handlers<typeof fetchmlJobQueue>;
  return {
    // Unchanged: they only differ from the demo's in the context type they are declared with.
    datasets: base.datasets as unknown as Own['datasets'],
    metrics: base.metrics as unknown as Own['metrics'],
    jobs: {
      queue: ({ snapshotId, tracking, force, ...input }, ctx) => {
        const twin = jobs
          .list()
          .find(
            (other) =>
              other.name === input.name &&
              other.commitId === input.commitId &&
              (other.state === 'queued' || other.state === 'running'),
          );
        if (twin && !force) {
          ctx.fail('JOB_DUPLICATE', `job ${twin.id} (${twin.name}) is already ${twin.state}`, {
            id: twin.id,
          });
        }
        const queued = jobs.queue(ctx.principal.id, input);
        const run = runs.of(queued.id);
        if (snapshotId !== undefined) run.snapshotId = snapshotId;
        if (tracking !== undefined) run.tracking = tracking;
        return queued;
      },
      status: ({ id }, ctx) => base.jobs.status(id === undefined ? {} : { id: resolve(id) }, asBase(ctx)),
      cancel: ({ id }, ctx) => base.jobs.cancel({ id: resolve(id) }, asBase(ctx)),
      prune: (rule, ctx) => base.jobs.prune(rule, asBase(ctx)),
      logs: ({ id }, ctx) => base.jobs.logs({ id: resolve(id) }, asBase(ctx)),
      getLogs: ({ id }, ctx) => {
        const found = job(id, ctx);
        return { id: found.id, lines: jobs.logsOf(found.id).slice() };
      },
    },
    experiments: {
      get: ({ commitId }) => ({
        commitId,
        jobs: jobs.list().filter((queued) => queued.commitId === commitId),
        metrics: [...metrics.of(commitId)],
      }),
    },
    runs: {
      annotate: ({ id, author, note }, ctx) => {
        const found = job(id, ctx);
        return { id: found.id, annotations: runs.annotate(found.id, author, note) };
      },
      narrative: ({ id, patch }, ctx) => {
        const found = job(id, ctx);
        return { id: found.id, narrative: runs.patchNarrative(found.id, patch) };
      },
      info: ({ id }, ctx) => {
        const found = job(id, ctx);
        const run = runs.of(found.id);
        return {
          job: found,
          annotations: run.annotations,
          narrative: run.narrative,
          ...(run.snapshotId === undefined ? {} : { snapshotId: run.snapshotId }),
          ...(run.tracking === undefined ? {} : { tracking: run.tracking }),
        };
      },
    },
  };
}

const newestFirst = (a: { queuedAt: number; id: string }, b: { queuedAt: number; id: string }) =>
  b.queuedAt - a.queuedAt || Number(b.id.slice(4)) - Number(a.id.slice(4));
