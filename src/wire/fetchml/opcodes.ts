/**
 * Client → server frames: `[opcode:1][api_key_hash:16][fields…]`, one binary WebSocket message each.
 * Opcodes 0x01–0x09 and 0x28 are fetch_ml's own (seen in its handler.go and commit e3dad32); the field
 * lists come from the seed's `ProtocolMin…` comments. Opcodes from 0x0A up are ours: fetch_ml has these
 * operations, but their values were not visible. docs/wire-fetchml.md lists them all.
 */
import { type Field, field, type Layout, layout, optional, type ValuesOf } from './layout.js';

/** Bytes of the API key hash every request carries right after its opcode (the seed's `ProtocolAPIKeyHashLen`). */
export const API_KEY_HASH_BYTES = 16;
/** Bytes of a commit id on the wire; shown as 40 hex characters (the seed's `ProtocolCommitIDLen`). */
export const COMMIT_ID_BYTES = 20;

/** Every opcode this wire knows, by the seed's operation names. */
export const OPCODES = {
  /** fetch_ml `OpcodeQueueJob`. */
  queue_job: 0x01,
  /** fetch_ml `OpcodeStatusRequest`. */
  status_request: 0x02,
  /** fetch_ml `OpcodeCancelJob`. */
  cancel_job: 0x03,
  /** fetch_ml `OpcodePrune`. */
  prune: 0x04,
  /** fetch_ml `OpcodeDatasetList`. */
  dataset_list: 0x06,
  /** fetch_ml `OpcodeDatasetRegister`. */
  dataset_register: 0x07,
  /** fetch_ml `OpcodeDatasetInfo`. */
  dataset_info: 0x08,
  /** fetch_ml `OpcodeDatasetSearch` (0x09 inferred from the sequence; the excerpt was cut there). */
  dataset_search: 0x09,
  /** Ours: queue a job that starts from a snapshot. */
  queue_job_with_snapshot: 0x0a,
  /** Ours: queue a job with an experiment-tracking config (JSON). */
  queue_job_with_tracking: 0x0b,
  /** Ours: queue a job with args, a note and a force flag. */
  queue_job_with_note: 0x0c,
  /** Ours: queue a job with args and a force flag. */
  queue_job_with_args: 0x0d,
  /** Ours: record one metric point of a commit. */
  log_metric: 0x0e,
  /** Ours: a commit's experiment (its jobs and metrics). */
  get_experiment: 0x0f,
  /** Ours: add an author's note to a run. */
  annotate_run: 0x10,
  /** Ours: merge a JSON patch into a run's narrative. */
  set_run_narrative: 0x11,
  /** Ours: a target's logs so far, in one data packet. */
  get_logs: 0x12,
  /** Ours: a target's logs, then each new line as a log packet until cancelled. */
  stream_logs: 0x13,
  /** Ours (not in fetch_ml): stop this connection's `stream_logs` of a target. */
  cancel_stream: 0x14,
  /** Ours: the seed's AttachDebug frame; the job-queue demo does not serve it. */
  attach_debug: 0x15,
  /** fetch_ml `query_run_info` (commit e3dad32: `[opcode:1][api_key_hash:16][run_id_len:1][run_id:var]`). */
  query_run_info: 0x28,
} as const;

/** An operation by the seed's name, e.g. `queue_job`. */
export type OperationName = keyof typeof OPCODES;

const key = field.bytes('api_key_hash', API_KEY_HASH_BYTES);
const commit = field.hex('commit_id', COMMIT_ID_BYTES);
const priority = field.u8('priority');
const jobName = field.string('job_name', 1);
const targetId = field.string('target_id', 1);

/** Every request's layout after the opcode byte, key hash first: its `minSize` is the seed's `ProtocolMin…`. */
export const REQUEST_LAYOUTS = {
  queue_job: layout('queue_job', [key, commit, priority, jobName]),
  // Ours: the job name is optional, so a bare hash asks for every job, as the seed's minimum allows.
  status_request: layout('status_request', [key, optional(jobName)]),
  cancel_job: layout('cancel_job', [key, jobName]),
  prune: layout('prune', [key, field.u8('prune_type'), field.u32('value')]),
  dataset_list: layout('dataset_list', [key]),
  dataset_register: layout('dataset_register', [key, field.string('name', 1), field.string('url', 2)]),
  dataset_info: layout('dataset_info', [key, field.string('name', 1)]),
  dataset_search: layout('dataset_search', [key, field.string('term', 1)]),
  queue_job_with_snapshot: layout('queue_job_with_snapshot', [
    key,
    commit,
    priority,
    jobName,
    field.string('snapshot_id', 1),
  ]),
  queue_job_with_tracking: layout('queue_job_with_tracking', [
    key,
    commit,
    priority,
    jobName,
    field.string('tracking', 2),
  ]),
  queue_job_with_note: layout('queue_job_with_note', [
    key,
    commit,
    priority,
    jobName,
    field.string('args', 2),
    field.string('note', 2),
    field.u8('force'),
  ]),
  queue_job_with_args: layout('queue_job_with_args', [
    key,
    commit,
    priority,
    jobName,
    field.string('args', 2),
    field.u8('force'),
  ]),
  log_metric: layout('log_metric', [
    key,
    commit,
    field.u32('step'),
    field.f64('value'),
    field.string('name', 1),
  ]),
  get_experiment: layout('get_experiment', [key, commit]),
  annotate_run: layout('annotate_run', [key, jobName, field.string('author', 1), field.string('note', 2)]),
  set_run_narrative: layout('set_run_narrative', [key, jobName, field.string('patch', 2)]),
  get_logs: layout('get_logs', [key, targetId]),
  stream_logs: layout('stream_logs', [key, targetId]),
  cancel_stream: layout('cancel_stream', [key, targetId]),
  attach_debug: layout('attach_debug', [key, targetId]),
  query_run_info: layout('query_run_info', [key, field.string('run_id', 1)]),
} as const satisfies Record<OperationName, Layout>;

/** The fields of one operation's request, the key hash included. */
export type RequestFields<Op extends OperationName> =
  (typeof REQUEST_LAYOUTS)[Op] extends Layout<infer F extends readonly Field[]> ? ValuesOf<F> : never;

/** Operations whose opcode fetch_ml itself defines; the rest are ours. */
export const SEED_OPERATIONS: ReadonlySet<OperationName> = new Set<OperationName>([
  'queue_job',
  'status_request',
  'cancel_job',
  'prune',
  'dataset_list',
  'dataset_register',
  'dataset_info',
  'dataset_search',
  'query_run_info',
]);

const BY_OPCODE = new Map<number, OperationName>(
  Object.entries(OPCODES).map(([name, code]) => [code, name as OperationName]),
);

/** The operation an opcode names, or undefined for an unknown opcode. */
export function operationOf(opcode: number): OperationName | undefined {
  return BY_OPCODE.get(opcode);
}

/** `0x0a`: how opcodes, packet types and error codes are written in messages and docs. */
export function hexByte(value: number): string {
  return `0x${value.toString(16).padStart(2, '0')}`;
}
