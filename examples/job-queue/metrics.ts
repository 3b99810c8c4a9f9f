export interface MetricPoint {
  readonly commitId: string;
  readonly step: number;
  readonly value: number;
  readonly name: string;
}

/** Metric points per commit, in the order they were logged. */
export class MetricLog {
  private readonly byCommit = new Map<string, MetricPoint[]>();

  /** Returns how many points the commit has now. */
  log(point: MetricPoint): number {
    const points = this.byCommit.get(point.commitId) ?? [];
    this.byCommit.set(point.commitId, points);
    points.push(point);
    return points.length;
  }

  of(commitId: string): readonly MetricPoint[] {
    return this.byCommit.get(commitId) ?? [];
  }
}
