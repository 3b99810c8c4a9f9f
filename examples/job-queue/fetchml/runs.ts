import { RequestError } from 'switchboard/protocol';
import { DEFAULT_MAX_DEPTH, valueDepthExceeds } from 'switchboard/wire';
import type { Annotation } from './protocol.js';

/** What fetch_ml keeps about a run besides the job itself: notes, a narrative, how it was queued. */
export interface RunRecord {
  readonly annotations: Annotation[];
  narrative: Record<string, unknown>;
  snapshotId?: string;
  tracking?: Record<string, unknown>;
}

/** Run records by job id, created on first use. */
export class RunBook {
  private readonly runs = new Map<string, RunRecord>();

  of(jobId: string): RunRecord {
    let run = this.runs.get(jobId);
    if (!run) {
      run = { annotations: [], narrative: {} };
      this.runs.set(jobId, run);
    }
    return run;
  }

  annotate(jobId: string, author: string, note: string): Annotation[] {
    const run = this.of(jobId);
    run.annotations.push({ author, note, at: Date.now() });
    return run.annotations;
  }

  /**
   * Applies a JSON merge patch (RFC 7386): null deletes a key, objects merge, anything else replaces.
   * The merge recurses as deep as the patch, so a patch deeper than DEFAULT_MAX_DEPTH is refused first.
   */
  patchNarrative(jobId: string, patch: Record<string, unknown>): Record<string, unknown> {
    if (valueDepthExceeds(patch, DEFAULT_MAX_DEPTH))
      throw new RequestError('INVALID_INPUT', `patch nested deeper than ${DEFAULT_MAX_DEPTH} levels`);
    const run = this.of(jobId);
    run.narrative = mergePatch(run.narrative, patch) as Record<string, unknown>;
    return run.narrative;
  }
}

function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return patch;
  const out: Record<string, unknown> = isPlainObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
