// Maps the protocol's commands onto the business logic; the only place that knows both.
import type { Context, Handlers } from 'switchboard/server';
import type { DatasetCatalog } from './datasets.js';
import type { JobQueue } from './jobs.js';
import type { MetricLog } from './metrics.js';
import type { jobQueue, LogLine } from './protocol.js';

type Ctx = Context<typeof jobQueue>;

export function jobQueueHandlers(
  jobs: JobQueue,
  datasets: DatasetCatalog,
  metrics: MetricLog,
): Handlers<typeof jobQueue> {
  const job = (id: string, ctx: Ctx) => jobs.get(id) ?? ctx.fail('JOB_NOT_FOUND', `no job ${id}`, { id });
  return {
    jobs: {
      queue: (input, ctx) => jobs.queue(ctx.principal.id, input),
      status: ({ id }, ctx) => ({ jobs: id === undefined ? jobs.list() : [job(id, ctx)] }),
      cancel: ({ id }, ctx) => {
        const found = job(id, ctx);
        if (jobs.isFinished(id))
          ctx.fail('JOB_FINISHED', `job ${id} is ${found.state}`, { id, state: found.state });
        return jobs.cancel(id) ?? found;
      },
      prune: (rule) => ({ pruned: jobs.prune(rule) }),
      logs: ({ id }, ctx) => {
        job(id, ctx);
        return followLogs(jobs, id, ctx.signal);
      },
    },
    datasets: {
      register: ({ name, url }, ctx) =>
        datasets.register(name, url, ctx.principal.id) ??
        ctx.fail('DATASET_EXISTS', `dataset ${name} already exists`, { name }),
      list: () => datasets.list(),
      info: ({ name }, ctx) =>
        datasets.info(name) ?? ctx.fail('DATASET_NOT_FOUND', `no dataset ${name}`, { name }),
      search: ({ term }) => datasets.search(term),
    },
    metrics: {
      log: (point) => ({ recorded: metrics.log(point) }),
    },
  };
}

/** The job's log so far, then each new line until the job finishes or the caller cancels. */
async function* followLogs(jobs: JobQueue, id: string, signal: AbortSignal): AsyncGenerator<LogLine> {
  const pending: LogLine[] = [];
  let wake: (() => void) | undefined;
  const onLine = (jobId: string, line: LogLine) => {
    if (jobId !== id) return;
    pending.push(line);
    wake?.();
  };
  const onUpdate = () => wake?.();
  const backlog = jobs.logsOf(id).slice();
  jobs.on('line', onLine);
  jobs.on('updated', onUpdate);
  signal.addEventListener('abort', onUpdate);
  try {
    yield* backlog;
    for (;;) {
      while (pending.length) yield pending.shift()!;
      if (signal.aborted || jobs.isFinished(id) || !jobs.get(id)) return;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
      wake = undefined;
    }
  } finally {
    jobs.off('line', onLine);
    jobs.off('updated', onUpdate);
    signal.removeEventListener('abort', onUpdate);
  }
}
