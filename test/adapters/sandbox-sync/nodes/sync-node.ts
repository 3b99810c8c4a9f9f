/**
 * One end of the sync link in its own process, for the two-process tests. Prints JSON lines.
 *   sync-node.ts worker <port> <token>            listens; prints {"port"} then {"frame","keys"} per frame handled
 *   sync-node.ts proxy <workerPort> <token> [hang] dials; prints {"connect"} and {"rx"}; with hang, key_create never finishes
 */
import {
  MemoryClusterStore,
  MemoryKeyStore,
  type ProxyKeyStore,
  SyncProxy,
  SyncWorker,
} from '../../../../src/adapters/sandbox-sync/index.js';

const [role, portArg, token, mode] = process.argv.slice(2);
const print = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);

if (role === 'worker') {
  const keys = new MemoryKeyStore();
  const worker = new SyncWorker({ token: token ?? '', keys });
  worker.onEvent((event) => {
    if (event.kind === 'frame') print({ frame: event.frame.type, keys: keys.keys.items.size });
  });
  print({ port: await worker.listen(Number(portArg)) });
} else {
  const memory = new MemoryKeyStore();
  memory.createFromHash(
    { namespace: 'ns', role: 'tenant', user: 'seed', team: 't' },
    'cd'.repeat(32),
    'cdcdcdcdcdcdcdcd',
  );
  // With `hang`, key_create never finishes, so a request is in flight when this process dies.
  const keys: ProxyKeyStore =
    mode === 'hang'
      ? {
          list: () => memory.list(),
          get: (keyId) => memory.get(keyId),
          createFromHash: (meta, hash, prefix) => memory.createFromHash(meta, hash, prefix),
          delete: (name) => memory.delete(name),
          countUserKeys: (namespace, user) => memory.countUserKeys(namespace, user),
          create: () => new Promise(() => {}),
        }
      : memory;
  const clusters = new MemoryClusterStore({ clusters: [{ id: 'w', url: `http://127.0.0.1:${portArg}` }] });
  const proxy = new SyncProxy({ token: token ?? '', clusters, keys, redialIntervalMs: 50 });
  proxy.onEvent((event) => {
    if (event.kind === 'connect') print({ connect: event.clusterId });
    if (event.kind === 'frame' && event.direction === 'rx') print({ rx: event.frame.type });
  });
  proxy.start();
}
