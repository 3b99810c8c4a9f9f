import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { exec, MINIMAL_ENV } from '../../../src/services/exec/index.js';
import { until } from '../../support/harness.js';
import { alive, collect, joined, killStarted, pidsOf, SLACK_MS, start, track } from './support.js';

/** The first cgroup v2 mount, from this process's mount table; undefined if there is none. */
function cgroup2Mount(): string | undefined {
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [mount, rest] = line.split(' - ');
    if (rest?.startsWith('cgroup2 ')) return mount?.split(' ')[4];
  }
  return undefined;
}

/** A cgroup for this test file's runs, if this machine lets us make one (root, cgroup v2). */
function testParent(): string | undefined {
  const mount = cgroup2Mount();
  if (mount === undefined) return undefined;
  const parent = join(mount, `switchboard-exec-test-${process.pid}`);
  try {
    mkdirSync(parent);
  } catch {
    return undefined;
  }
  if (existsSync(join(parent, 'cgroup.kill'))) return parent;
  rmdirSync(parent);
  return undefined;
}

const parent = testParent();

afterEach(killStarted);

afterAll(async () => {
  if (parent === undefined) return;
  await until(
    () => readdirSync(parent).every((name) => !name.startsWith('run-')),
    SLACK_MS,
    'run cgroups to go',
  );
  rmdirSync(parent);
});

/** The run cgroups under the test parent now. */
function runCgroups(): string[] {
  return readdirSync(parent as string).filter((name) => name.startsWith('run-'));
}

/** A leader that dies on SIGTERM and a process that left its session and group, ignoring SIGTERM. */
const ESCAPE = [
  'setsid sh -c \'trap "" TERM; echo escaped $$; exec sleep 1000 >/dev/null 2>&1\' &',
  'wait',
].join('\n');

describe.skipIf(parent === undefined)('exec with a cgroup per run', () => {
  it('kills a setsid escapee that ignores SIGTERM within the grace after the session leaves', async () => {
    const service = await start({ enabled: true, allow: ['/bin/sh'], killGraceMs: 100, cgroup: parent });
    const items = service.run({ args: ['/bin/sh', '-c', ESCAPE] });
    const [escaped] = await pidsOf(items, ['escaped']);
    expect(runCgroups().length).toBe(1);
    await service.local.detach(service.session);
    expect(await collect(items)).toEqual({ items: [{ kind: 'exit', code: 143 }] });
    await until(() => !alive(escaped as number), 100 + SLACK_MS, 'the escapee to die');
    await until(() => runCgroups().length === 0, SLACK_MS, 'the run cgroup to be removed');
  });

  it('kills a daemon the program left behind when it exits, and answers at once', async () => {
    const service = await start({ enabled: true, allow: ['/bin/sh'], killGraceMs: 100, cgroup: parent });
    const script = 'trap "" TERM; setsid sleep 1000 >/dev/null 2>&1 & trap - TERM; echo $!; echo hi';
    const { items } = await collect(service.run({ args: ['/bin/sh', '-c', script] }));
    const { output, error, last } = joined(items);
    const daemon = Number(output.split('\n')[0]);
    track(daemon);
    expect({ output, error, last }).toEqual({
      output: `${daemon}\nhi\n`,
      error: '',
      last: { kind: 'exit', code: 0 },
    });
    await until(() => !alive(daemon), 100 + SLACK_MS, 'the daemon to die');
    await until(() => runCgroups().length === 0, SLACK_MS, 'the run cgroup to be removed');
  });

  it('runs the program in its cgroup with exactly its environment, stdin empty, argv[0] its file', async () => {
    const node = process.execPath;
    const service = await start({
      enabled: true,
      allow: [node],
      cgroup: parent,
      env: { SERVER: 's' },
      allowEnv: ['CALLER'],
    });
    const script = [
      'const fs = require("fs");',
      'process.stdout.write(JSON.stringify({ env: process.env, argv0: process.argv0,',
      '  stdin: fs.readFileSync(0, "utf8"), cgroup: fs.readFileSync("/proc/self/cgroup", "utf8") }))',
    ].join('');
    const { items } = await collect(
      service.run({ args: [node, '-e', script], env: { CALLER: 'c=1 "quoted"' } }),
    );
    const { output, last } = joined(items);
    const seen = JSON.parse(output);
    expect(seen.env).toEqual({ ...MINIMAL_ENV, SERVER: 's', CALLER: 'c=1 "quoted"' });
    expect([seen.argv0, seen.stdin, last]).toEqual([node, '', { kind: 'exit', code: 0 }]);
    expect(seen.cgroup).toMatch(
      new RegExp(`^0::.*/switchboard-exec-test-${process.pid}/run-${process.pid}-\\d+\\n`, 'm'),
    );
  });

  it('refuses a directory that is not a cgroup', () => {
    expect(() => exec({ cgroup: tmpdir() })).toThrow(
      new TypeError(
        `exec: cgroup ${JSON.stringify(tmpdir())} is not a non-root cgroup v2 directory with cgroup.kill`,
      ),
    );
  });
});
