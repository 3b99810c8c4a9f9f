import type { Reporter, TestCase, TestModule } from 'vitest/node';

/**
 * Prints the plain `tests: N passed, N failed` line that CI reads, after vitest's own summary, and
 * names every skipped test: a test skipped because this machine lacks something (a cgroup, a tool)
 * must be seen, not counted silently.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    let passed = 0;
    let failed = 0;
    const skipped: TestCase[] = [];
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failed++;
        else skipped.push(test);
      }
    }
    for (const test of skipped)
      console.log(
        `SKIPPED on this machine: ${test.module.moduleId.replace(`${process.cwd()}/`, '')} > ${test.fullName}`,
      );
    console.log(`\ntests: ${passed} passed, ${failed} failed, ${skipped.length} skipped`);
  }
}
