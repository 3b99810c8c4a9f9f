// Business logic of the job queue: no transport code, so it could serve REST as well.
import { EventEmitter } from 'node:events';
import type { Job, LogLine } from './protocol.js';

export interface JobTimings {
  /** How long a job waits as `running` between log lines. */
  readonly lineMs: number;
  /** How many log lines a job writes before it completes. */
  readonly lines: number;
}

/** Jobs queued in the same millisecond keep their order by id number. */
const sequence = (job: Job) => Number(job.id.slice('job-'.length));

type JobEvents = { updated: [Job]; line: [string, LogLine] };

/**
 * A priority queue with one simulated worker: the highest priority (then the oldest) runs next,
 * writes `lines` log lines and completes. Emits `updated` on every state change and `line` per log line.
 */
export class JobQueue extends EventEmitter<JobEvents> {
  private readonly jobs = new Map<string, Job>();
  private readonly logs = new Map<string, LogLine[]>();
  private nextId = 1;
  private running: { id: string; timer: ReturnType<typeof setTimeout> } | undefined;
  private stopped = false;

  /** The default job runs 1.5 s: long enough to watch, short enough for the demo client's tour. */
  constructor(private readonly timings: JobTimings = { lineMs: 250, lines: 6 }) {
    super();
    // Each open `jobs.logs` stream listens here; more than ten at once is normal, not a leak.
    this.setMaxListeners(0);
  }

  queue(
    owner: string,
    input: { name: string; commitId: string; priority: number; args?: string[]; note?: string },
  ): Job {
    const job: Job = { id: `job-${this.nextId++}`, state: 'queued', owner, queuedAt: Date.now(), ...input };
    this.jobs.set(job.id, job);
    this.logs.set(job.id, []);
    this.emit('updated', job);
    this.schedule();
    return job;
  }

  get(id: string): Job | undefined {
    return this.jobs.get(id);
  }

  /** Queued jobs in the order they will run, then the others by id. */
  list(): Job[] {
    const rank = (job: Job) => (job.state === 'running' ? 0 : job.state === 'queued' ? 1 : 2);
    return [...this.jobs.values()].sort(
      (a, b) =>
        rank(a) - rank(b) || b.priority - a.priority || a.queuedAt - b.queuedAt || sequence(a) - sequence(b),
    );
  }

  cancel(id: string): Job | undefined {
    const job = this.jobs.get(id);
    if (!job || (job.state !== 'queued' && job.state !== 'running')) return job;
    if (this.running?.id === id) {
      clearTimeout(this.running.timer);
      this.running = undefined;
    }
    this.update(id, 'cancelled');
    this.schedule();
    return this.jobs.get(id);
  }

  /** Removes finished jobs: those older than `olderThanSeconds`, or all but the newest `keepLast`. */
  prune(rule: { olderThanSeconds: number } | { keepLast: number }): number {
    const finished = [...this.jobs.values()]
      .filter((job) => job.state === 'completed' || job.state === 'cancelled')
      .sort((a, b) => b.queuedAt - a.queuedAt || sequence(b) - sequence(a));
    const doomed =
      'keepLast' in rule
        ? finished.slice(rule.keepLast)
        : finished.filter((job) => job.queuedAt < Date.now() - rule.olderThanSeconds * 1000);
    for (const job of doomed) {
      this.jobs.delete(job.id);
      this.logs.delete(job.id);
    }
    return doomed.length;
  }

  logsOf(id: string): LogLine[] {
    return this.logs.get(id) ?? [];
  }

  isFinished(id: string): boolean {
    const state = this.jobs.get(id)?.state;
    return state === 'completed' || state === 'cancelled';
  }

  /** Clears the worker's timer for good: jobs still queued or running stay as they are. */
  stop(): void {
    this.stopped = true;
    if (this.running) clearTimeout(this.running.timer);
    this.running = undefined;
  }

  private schedule(): void {
    if (this.running || this.stopped) return;
    const next = this.list().find((job) => job.state === 'queued');
    if (!next) return;
    this.update(next.id, 'running');
    this.step(next.id, 0);
  }

  private step(id: string, written: number): void {
    const timer = setTimeout(() => {
      const level = written === this.timings.lines - 1 ? 'info' : written % 4 === 3 ? 'warn' : 'info';
      const text = written === this.timings.lines - 1 ? 'done' : `step ${written + 1}/${this.timings.lines}`;
      const line: LogLine = { at: Date.now(), level, text };
      this.logs.get(id)?.push(line);
      this.emit('line', id, line);
      if (written + 1 < this.timings.lines) return this.step(id, written + 1);
      this.running = undefined;
      this.update(id, 'completed');
      this.schedule();
    }, this.timings.lineMs);
    this.running = { id, timer };
  }

  private update(id: string, state: Job['state']): void {
    const job = this.jobs.get(id);
    if (!job) return;
    const updated = { ...job, state };
    this.jobs.set(id, updated);
    this.emit('updated', updated);
  }
}
