// One Buster server on the memory bus in its own process, so that its RSS is its own.
// Run with --expose-gc and an IPC channel: sends `{port}` once listening, then answers
// `{type:'memory'}` with `{rss, heapUsed}` measured after a full GC.
// Optional argv[2]: JSON of settings overrides.
import { createBusterServer } from '../../../../src/adapters/buster/index.js';
import { silentLogger } from '../../../../src/server/index.js';
import { busterHandlers, busterProtocol, SECRET } from '../fixtures.js';

const settings = JSON.parse(process.argv[2] ?? '{}') as Record<string, number>;
const server = await createBusterServer({
  protocol: busterProtocol,
  handlers: busterHandlers,
  auth: { secret: SECRET },
  port: 0,
  host: '127.0.0.1',
  path: '/api/v1/ws',
  logger: silentLogger,
  settings,
});

const gc = (globalThis as { gc?: () => void }).gc;
process.on('message', (message: { type: string }) => {
  if (message.type !== 'memory') return;
  // Two passes: the first finalises what holds native memory (zlib handles), the second frees it.
  gc?.();
  setImmediate(() => {
    gc?.();
    const { rss, heapUsed } = process.memoryUsage();
    process.send?.({ type: 'memory', rss, heapUsed });
  });
});
process.on('disconnect', () => process.exit(0));
process.send?.({ type: 'listening', port: server.port });
