// Which job-queue command each fetch_ml opcode calls, and which packet each reply becomes.

import { DEFAULT_MAX_DEPTH, parseBoundedJson } from 'switchboard/wire';
import {
  dataPacket,
  type FetchmlBinding,
  type LogLevel,
  logPacket,
  successPacket,
} from 'switchboard/wire/fetchml';
import type { Dataset, Job, LogLine } from '../protocol.js';

/** `prune_type` values (ours: fetch_ml's were not visible). */
export const PRUNE_TYPES = { keep_last: 0x00, older_than_seconds: 0x01 } as const;

/** Args travel as one string; ours: split on whitespace, so one argument cannot hold a space. */
const splitArgs = (args: string) => args.split(/\s+/).filter(Boolean);

function parseObject(text: string, what: string): Record<string, unknown> {
  // Bounded: a patch is merged recursively, and its depth must not be the sender's to choose.
  const parsed = parseBoundedJson(text, DEFAULT_MAX_DEPTH);
  if (!parsed.ok)
    throw new Error(parsed.reason === 'too-deep' ? `${what} ${parsed.message}` : `${what} is not valid JSON`);
  const value = parsed.value;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`${what} must be a JSON object`);
  }
  return value as Record<string, unknown>;
}

const queued = (fields: { commit_id: string; priority: number; job_name: string }) => ({
  name: fields.job_name,
  commitId: fields.commit_id,
  priority: fields.priority,
});

/** The job-queue demo on the fetch_ml wire. docs/wire-fetchml.md has the table. */
export const jobQueueBinding: FetchmlBinding = {
  operations: {
    queue_job: { command: 'jobs.queue', input: queued },
    queue_job_with_snapshot: {
      command: 'jobs.queue',
      input: (f) => ({ ...queued(f), snapshotId: f.snapshot_id }),
    },
    queue_job_with_tracking: {
      command: 'jobs.queue',
      input: (f) => ({ ...queued(f), tracking: parseObject(f.tracking, 'tracking') }),
    },
    queue_job_with_note: {
      command: 'jobs.queue',
      input: (f) => ({ ...queued(f), args: splitArgs(f.args), note: f.note, force: f.force !== 0 }),
    },
    queue_job_with_args: {
      command: 'jobs.queue',
      input: (f) => ({ ...queued(f), args: splitArgs(f.args), force: f.force !== 0 }),
    },
    status_request: {
      command: 'jobs.status',
      input: (f) => (f.job_name === undefined ? {} : { id: f.job_name }),
    },
    cancel_job: { command: 'jobs.cancel', input: (f) => ({ id: f.job_name }) },
    prune: {
      command: 'jobs.prune',
      input: (f) => {
        if (f.prune_type === PRUNE_TYPES.keep_last) return { keepLast: f.value };
        if (f.prune_type === PRUNE_TYPES.older_than_seconds) return { olderThanSeconds: f.value };
        throw new Error(`unknown prune_type ${f.prune_type}`);
      },
    },
    dataset_list: { command: 'datasets.list', input: () => ({}) },
    dataset_register: { command: 'datasets.register', input: (f) => ({ name: f.name, url: f.url }) },
    dataset_info: { command: 'datasets.info', input: (f) => ({ name: f.name }) },
    dataset_search: { command: 'datasets.search', input: (f) => ({ term: f.term }) },
    log_metric: {
      command: 'metrics.log',
      input: (f) => ({ commitId: f.commit_id, step: f.step, value: f.value, name: f.name }),
    },
    get_experiment: { command: 'experiments.get', input: (f) => ({ commitId: f.commit_id }) },
    annotate_run: {
      command: 'runs.annotate',
      input: (f) => ({ id: f.job_name, author: f.author, note: f.note }),
    },
    set_run_narrative: {
      command: 'runs.narrative',
      input: (f) => ({ id: f.job_name, patch: parseObject(f.patch, 'patch') }),
    },
    get_logs: { command: 'jobs.getLogs', input: (f) => ({ id: f.target_id }) },
    stream_logs: { command: 'jobs.logs', input: (f) => ({ id: f.target_id }) },
    query_run_info: { command: 'runs.info', input: (f) => ({ id: f.run_id }) },
  },
  replies: {
    'jobs.queue': { result: (job) => dataPacket('job', job) },
    'jobs.status': { result: (status) => dataPacket('status', status) },
    'jobs.cancel': { result: (job) => successPacket(`job ${(job as Job).id} ${(job as Job).state}`) },
    'jobs.prune': { result: (out) => successPacket(`pruned ${(out as { pruned: number }).pruned} jobs`) },
    'jobs.getLogs': { result: (logs) => dataPacket('logs', logs) },
    'jobs.logs': {
      item: (line) =>
        logPacket((line as LogLine).level as LogLevel, (line as LogLine).text, (line as LogLine).at),
      end: () => successPacket('end of logs'),
    },
    'datasets.register': {
      result: (dataset) => successPacket(`dataset ${(dataset as Dataset).name} registered`),
    },
    'datasets.list': { result: (list) => dataPacket('datasets', list) },
    'datasets.info': { result: (dataset) => dataPacket('dataset', dataset) },
    'datasets.search': { result: (list) => dataPacket('datasets', list) },
    'metrics.log': {
      result: (out) => successPacket(`metric recorded (${(out as { recorded: number }).recorded} points)`),
    },
    'experiments.get': { result: (experiment) => dataPacket('experiment', experiment) },
    'runs.annotate': { result: (run) => dataPacket('annotations', run) },
    'runs.narrative': { result: (run) => dataPacket('narrative', run) },
    'runs.info': { result: (info) => dataPacket('run_info', info) },
  },
  errors: {
    JOB_NOT_FOUND: 'JOB_NOT_FOUND',
    JOB_FINISHED: 'JOB_ALREADY_RUNNING',
    JOB_DUPLICATE: 'JOB_ALREADY_RUNNING',
    DATASET_NOT_FOUND: 'RESOURCE_NOT_FOUND',
    DATASET_EXISTS: 'RESOURCE_ALREADY_EXISTS',
  },
};
