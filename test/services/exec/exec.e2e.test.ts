import { afterEach, describe, expect, it } from 'vitest';
import { type Client, createClient } from '../../../src/client/index.js';
import { CallError } from '../../../src/protocol/errors.js';
import { defineProtocol } from '../../../src/protocol/index.js';
import { createServer, type Server, silentLogger } from '../../../src/server/index.js';
import { type ExecItem, type ExecOptions, exec, execService } from '../../../src/services/exec/index.js';
import { memoryTransport } from '../../../src/transport/memory.js';
import { until } from '../../support/harness.js';
import { alive } from './support.js';

const api = defineProtocol({
  name: 'exec-e2e',
  version: '1.0.0',
  resources: {},
  services: { exec: execService },
});
const node = process.execPath;

let server: Server<typeof api> | undefined;
const clients: Client<typeof api>[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await server?.close({ graceMs: 10 });
  server = undefined;
});

async function open(options: ExecOptions) {
  const transport = memoryTransport();
  server = await createServer({
    protocol: api,
    handlers: {},
    services: { exec: exec(options) },
    transport: transport.server,
    logger: silentLogger,
  });
  const client = createClient({ protocol: api, url: 'memory://exec', connect: transport.connect });
  clients.push(client);
  return client.openChannel('exec', { name: 'shell' });
}

describe('exec over the in-memory transport', () => {
  it('streams output and the exit code', async () => {
    const channel = await open({ enabled: true, allow: ['/bin/echo'] });
    const items: ExecItem[] = [];
    for await (const item of channel.stream('run', { args: ['/bin/echo', 'over', 'the wire'] }))
      items.push(item);
    expect(items).toEqual([
      { kind: 'output', data: 'over the wire\n' },
      { kind: 'exit', code: 0 },
    ]);
  });

  it('fails with typed errors when disabled or not allowed', async () => {
    const disabled = await open({});
    const first = await collectError(disabled.stream('run', { args: ['/bin/echo'] }));
    expect([first.code, first.message]).toEqual([
      'EXEC_DISABLED',
      'Running programs is disabled on this server',
    ]);
    await server?.close({ graceMs: 10 });
    const enabled = await open({ enabled: true, allow: ['/bin/echo'] });
    const second = await collectError(enabled.stream('run', { args: ['/bin/sh', '-c', 'id'] }));
    expect([second.code, second.message, second.data]).toEqual([
      'COMMAND_NOT_ALLOWED',
      '"/bin/sh" is not allowed',
      { program: '/bin/sh' },
    ]);
  });

  it('kills the process when the caller stops reading', async () => {
    const channel = await open({ enabled: true, allow: [node] });
    let pid = 0;
    for await (const item of channel.stream('run', {
      args: [node, '-e', 'console.log(process.pid); setInterval(() => {}, 1000)'],
    })) {
      if (item.kind === 'output') pid = Number(item.data);
      break;
    }
    expect(pid).toBeGreaterThan(0);
    await until(() => !alive(pid), 5000, 'the process to die');
  });
});

async function collectError(items: AsyncIterable<unknown>): Promise<CallError> {
  try {
    for await (const _ of items) {
      // Items are not expected before the error.
    }
  } catch (error) {
    if (error instanceof CallError) return error;
    throw error;
  }
  throw new Error('expected the stream to fail');
}
