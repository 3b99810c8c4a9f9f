import { realpath } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { describe, expect, it, vi } from 'vitest';
import { signalExitCode } from '../../../src/services/exec/index.js';
import type { ExecItem } from '../../../src/services/exec/service.js';
import { alive, collect, joined, start } from './support.js';

const node = process.execPath;

describe('exec: who may run what', () => {
  it('is disabled unless enabled', async () => {
    for (const options of [{}, { enabled: false, allow: ['/bin/echo'] }]) {
      const { error } = await collect((await start(options)).run({ args: ['/bin/echo', 'x'] }));
      expect([error?.code, error?.message]).toEqual([
        'EXEC_DISABLED',
        'Running programs is disabled on this server',
      ]);
    }
  });

  it('runs only programs on the allow-list, by exact name or path', async () => {
    const service = await start({ enabled: true, allow: ['/bin/echo', 'node'] });
    for (const program of ['echo', '/usr/bin/echo', './echo', '/bin/echo ', 'sh', '/bin/sh']) {
      const { items, error } = await collect(service.run({ args: [program, 'x'] }));
      expect([items, error?.code, error?.message, error?.data]).toEqual([
        [],
        'COMMAND_NOT_ALLOWED',
        `${JSON.stringify(program)} is not allowed`,
        { program },
      ]);
    }
  });

  it('looks a bare name up on the server PATH, never the caller’s', async () => {
    // Even where the server lets callers set PATH.
    const service = await start({ enabled: true, allow: ['echo'], allowEnv: ['PATH'] });
    const { items } = await collect(service.run({ args: ['echo', 'found'], env: { PATH: '/nonexistent' } }));
    expect(items).toEqual([
      { kind: 'output', data: 'found\n' },
      { kind: 'exit', code: 0 },
    ]);
  });

  it('refuses variables that would make an allowed program load the caller’s code', async () => {
    const service = await start({ enabled: true, allow: ['/bin/echo'] });
    for (const name of [
      'LD_PRELOAD',
      'LD_LIBRARY_PATH',
      'DYLD_INSERT_LIBRARIES',
      'NODE_OPTIONS',
      'BASH_ENV',
    ]) {
      const { items, error } = await collect(service.run({ args: ['/bin/echo'], env: { [name]: './x.so' } }));
      expect([items, error?.code, error?.message, error?.data]).toEqual([
        [],
        'ENV_NOT_ALLOWED',
        `the caller may not set ${JSON.stringify(name)}`,
        { name },
      ]);
    }
  });

  it('lets the server choose which variables callers may set', async () => {
    const service = await start({ enabled: true, allow: [node], allowEnv: ['NODE_OPTIONS'] });
    const { items } = await collect(
      service.run({
        args: [node, '-e', 'process.stdout.write(process.env.NODE_OPTIONS)'],
        env: { NODE_OPTIONS: '--no-warnings' },
      }),
    );
    expect(items).toEqual([
      { kind: 'output', data: '--no-warnings' },
      { kind: 'exit', code: 0 },
    ]);
    const { error } = await collect(service.run({ args: [node], env: { SECRET_MODE: '1' } }));
    expect(error?.code).toBe('ENV_NOT_ALLOWED');
  });

  it('fails with EXEC_FAILED when an allowed program does not exist', async () => {
    const service = await start({ enabled: true, allow: ['no-such-program-here', '/no/such/program'] });
    for (const program of ['no-such-program-here', '/no/such/program']) {
      const { error } = await collect(service.run({ args: [program] }));
      expect([error?.code, error?.message]).toEqual([
        'EXEC_FAILED',
        `${JSON.stringify(program)} was not found`,
      ]);
    }
  });
});

describe('exec: running', () => {
  it('fails with EXEC_FAILED when the working directory is missing', async () => {
    const service = await start({ enabled: true, allow: ['/bin/echo'], cwd: '/no/such/directory' });
    const { items, error } = await collect(service.run({ args: ['/bin/echo', 'x'] }));
    expect([items, error?.code, error?.message]).toEqual([
      [],
      'EXEC_FAILED',
      '"/bin/echo" could not be started',
    ]);
  });

  it('streams stdout then reports the exit code', async () => {
    const service = await start({ enabled: true, allow: ['/bin/echo'] });
    expect(await collect(service.run({ args: ['/bin/echo', 'hello', 'world'] }))).toEqual({
      items: [
        { kind: 'output', data: 'hello world\n' },
        { kind: 'exit', code: 0 },
      ],
    });
  });

  it('passes arguments without a shell', async () => {
    const service = await start({ enabled: true, allow: ['/bin/echo'] });
    const { items } = await collect(service.run({ args: ['/bin/echo', '$HOME; ls', '`id`', '*'] }));
    expect(items).toEqual([
      { kind: 'output', data: '$HOME; ls `id` *\n' },
      { kind: 'exit', code: 0 },
    ]);
  });

  it('separates stdout from stderr and reports a non-zero exit', async () => {
    const service = await start({ enabled: true, allow: [node] });
    const script =
      'process.stdout.write("out 1\\n"); process.stderr.write("err 1\\n"); process.stdout.write("out 2\\n"); process.exitCode = 3';
    const { items } = await collect(service.run({ args: [node, '-e', script] }));
    expect(joined(items)).toEqual({
      output: 'out 1\nout 2\n',
      error: 'err 1\n',
      last: { kind: 'exit', code: 3 },
    });
  });

  it('decodes a UTF-8 character split across two chunks whole', async () => {
    const service = await start({ enabled: true, allow: [node] });
    // The two bytes of "é" in separate writes, the second only after the first was flushed.
    const script =
      'process.stdout.write(Buffer.from([0xc3]), () => setTimeout(() => process.stdout.write(Buffer.from([0xa9, 0x21])), 20))';
    const { items } = await collect(service.run({ args: [node, '-e', script] }));
    expect(items).toEqual([
      { kind: 'output', data: 'é!' },
      { kind: 'exit', code: 0 },
    ]);
  });

  it('runs in the configured working directory', async () => {
    const cwd = await realpath(tmpdir());
    const service = await start({ enabled: true, allow: [node], cwd });
    const { items } = await collect(
      service.run({ args: [node, '-e', 'process.stdout.write(process.cwd())'] }),
    );
    expect(items).toEqual([
      { kind: 'output', data: cwd },
      { kind: 'exit', code: 0 },
    ]);
  });

  it('reports a death by signal as 128 + its number', async () => {
    const service = await start({ enabled: true, allow: [node] });
    const { items } = await collect(
      service.run({ args: [node, '-e', 'process.kill(process.pid, "SIGKILL")'] }),
    );
    expect(items).toEqual([{ kind: 'exit', code: 137 }]);
    expect([signalExitCode('SIGTERM'), signalExitCode('SIGINT')]).toEqual([143, 130]);
  });
});

describe('exec: stopping', () => {
  it('kills the process (SIGTERM) when the call is cancelled', async () => {
    const service = await start({ enabled: true, allow: [node] });
    const cancel = new AbortController();
    const items = service.run(
      { args: [node, '-e', 'console.log(process.pid); setInterval(() => {}, 1000)'] },
      cancel.signal,
    );
    const first = await items.next();
    const pid = Number((first.value as { data: string }).data);
    expect(alive(pid)).toBe(true);
    cancel.abort();
    expect(await collect(items)).toEqual({ items: [{ kind: 'exit', code: 143 }] });
    expect(alive(pid)).toBe(false);
  });

  it('kills the processes of a session that leaves, and of an instance that ends', async () => {
    const service = await start({ enabled: true, allow: [node] });
    const script = 'console.log("ready"); setInterval(() => {}, 1000)';
    const first = service.run({ args: [node, '-e', script] });
    expect((await first.next()).value).toEqual({ kind: 'output', data: 'ready\n' });
    await service.local.detach(service.session);
    expect(await collect(first)).toEqual({ items: [{ kind: 'exit', code: 143 }] });
    const other = await service.local.attach();
    const second = service.local.implementation.handlers.run(
      { args: [node, '-e', script] },
      service.local.context(other),
    ) as AsyncGenerator<ExecItem>;
    expect((await second.next()).value).toEqual({ kind: 'output', data: 'ready\n' });
    await service.local.implementation.dispose?.(service.local.state, service.local.instance);
    expect(await collect(second)).toEqual({ items: [{ kind: 'exit', code: 143 }] });
  });

  it('sends SIGKILL after the grace to a process that ignores SIGTERM', async () => {
    const service = await start({ enabled: true, allow: [node], killGraceMs: 50 });
    const cancel = new AbortController();
    const script = 'process.on("SIGTERM", () => {}); console.log("ready"); setInterval(() => {}, 1000)';
    const items = service.run({ args: [node, '-e', script] }, cancel.signal);
    expect((await items.next()).value).toEqual({ kind: 'output', data: 'ready\n' });
    cancel.abort();
    expect(await collect(items)).toEqual({ items: [{ kind: 'exit', code: 137 }] });
  });

  it('kills what the process started too, and kills when the reader stops', async () => {
    const service = await start({ enabled: true, allow: ['/bin/sh'] });
    const items = service.run({ args: ['/bin/sh', '-c', 'sleep 30 & echo $!; wait'] });
    const first = await items.next();
    const grandchild = Number((first.value as { data: string }).data);
    expect(alive(grandchild)).toBe(true);
    await items.return(undefined);
    await vi.waitFor(() => expect(alive(grandchild)).toBe(false), { timeout: 5000, interval: 10 });
  });

  it('fails with EXEC_TIMEOUT and kills a process that runs too long', async () => {
    const service = await start({ enabled: true, allow: [node], timeoutMs: 100 });
    const { items, error } = await collect(
      service.run({ args: [node, '-e', 'setInterval(() => {}, 1000)'] }),
    );
    expect([items, error?.code, error?.message, error?.data]).toEqual([
      [],
      'EXEC_TIMEOUT',
      `${JSON.stringify(node)} ran longer than 100 ms`,
      { timeoutMs: 100 },
    ]);
  });

  it('delivers output up to maxOutputBytes, and past it fails with EXEC_OUTPUT_LIMIT and kills', async () => {
    const service = await start({ enabled: true, allow: [node], maxOutputBytes: 10 });
    expect(await collect(service.run({ args: [node, '-e', 'process.stdout.write("1234567890")'] }))).toEqual({
      items: [
        { kind: 'output', data: '1234567890' },
        { kind: 'exit', code: 0 },
      ],
    });
    const script = 'process.stdout.write("x".repeat(11)); setInterval(() => {}, 1000)';
    const { items, error } = await collect(service.run({ args: [node, '-e', script] }));
    expect([items, error?.code, error?.message, error?.data]).toEqual([
      [],
      'EXEC_OUTPUT_LIMIT',
      `${JSON.stringify(node)} wrote more than 10 bytes`,
      { maxOutputBytes: 10 },
    ]);
  });
});
