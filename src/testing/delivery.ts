import { AssertionError } from 'node:assert';

/** What went wrong between what was published and what one subscriber received. */
export interface DeliveryReport<T> {
  /** Published, never received. */
  readonly lost: readonly T[];
  /** Received more than once. */
  readonly duplicated: readonly T[];
  /** Received before something published earlier (each listed once, at its late arrival). */
  readonly reordered: readonly T[];
  /** Received, never published. */
  readonly unexpected: readonly T[];
  readonly ok: boolean;
}

/**
 * Compares what a subscriber received with what was published, by identity of `idOf(item)`
 * (the item itself by default). Framework-neutral: use `assertDelivery` to fail a test.
 *
 * @example
 * const report = checkDelivery(published, received, (tick) => tick.n);
 * expect(report.lost).toEqual([]);
 */
export function checkDelivery<T>(
  published: readonly T[],
  received: readonly T[],
  idOf: (item: T) => unknown = (item) => item,
): DeliveryReport<T> {
  const order = new Map<unknown, number>();
  for (const [index, item] of published.entries()) order.set(idOf(item), index);
  const seen = new Set<unknown>();
  const duplicated: T[] = [];
  const reordered: T[] = [];
  const unexpected: T[] = [];
  let highest = -1;
  for (const item of received) {
    const id = idOf(item);
    const index = order.get(id);
    if (index === undefined) {
      unexpected.push(item);
      continue;
    }
    if (seen.has(id)) {
      duplicated.push(item);
      continue;
    }
    seen.add(id);
    if (index < highest) reordered.push(item);
    highest = Math.max(highest, index);
  }
  const lost = published.filter((item) => !seen.has(idOf(item)));
  return {
    lost,
    duplicated,
    reordered,
    unexpected,
    ok: lost.length + duplicated.length + reordered.length + unexpected.length === 0,
  };
}

export interface DeliveryExpectation {
  /**
   * Losses the subscriber was told about (its `onGap` fired, e.g. history trimmed): how many items may
   * be lost without failing. Default 0: nothing lost, nothing twice, order kept.
   */
  readonly signalledLosses?: number;
}

/**
 * Throws an AssertionError naming the first few lost, duplicated, reordered or unexpected items,
 * unless delivery was exact (or the losses are no more than those signalled as gaps).
 */
export function assertDelivery<T>(
  published: readonly T[],
  received: readonly T[],
  idOf: (item: T) => unknown = (item) => item,
  expectation: DeliveryExpectation = {},
): DeliveryReport<T> {
  const report = checkDelivery(published, received, idOf);
  const allowedLosses = expectation.signalledLosses ?? 0;
  const problems: string[] = [];
  const show = (items: readonly T[]) =>
    items
      .slice(0, 5)
      .map((item) => JSON.stringify(idOf(item)))
      .join(', ') + (items.length > 5 ? `, … (${items.length} in all)` : '');
  if (report.lost.length > allowedLosses)
    problems.push(
      `lost ${report.lost.length}${allowedLosses ? ` (only ${allowedLosses} signalled as gaps)` : ''}: ${show(report.lost)}`,
    );
  if (report.duplicated.length) problems.push(`received twice: ${show(report.duplicated)}`);
  if (report.reordered.length) problems.push(`out of order: ${show(report.reordered)}`);
  if (report.unexpected.length) problems.push(`never published: ${show(report.unexpected)}`);
  if (problems.length) {
    throw new AssertionError({
      message: `delivery failed: ${problems.join('; ')}`,
      actual: received.length,
      expected: published.length,
      operator: 'assertDelivery',
    });
  }
  return report;
}
