import { afterEach, describe, expect, test } from 'vitest';
import { z } from 'zod';
import { type Client, createClient } from '../../src/client/index.js';
import { command, defineProtocol, service } from '../../src/protocol/index.js';
import {
  type Authenticator,
  createServer,
  type Server,
  type ServiceImplementation,
  silentLogger,
} from '../../src/server/index.js';
import { type MemoryTransport, memoryTransport } from '../../src/transport/memory.js';

// Service commands carry a `permission` like resource commands do; a call on a channel must be
// checked against it as strictly as a call without one.
const vaultService = service({
  commands: {
    peek: command({ input: z.object({}), output: z.string() }),
    wipe: command({ input: z.object({}), output: z.literal('wiped'), permission: 'vault:admin' }),
    both: command({
      input: z.object({}),
      output: z.literal('both'),
      permission: ['vault:admin', 'vault:audit'],
    }),
  },
});

const api = defineProtocol({
  name: 'service-permissions-test',
  version: '1.0.0',
  resources: {},
  services: { vault: vaultService },
});

const vault: ServiceImplementation<typeof vaultService, { wiped: number }> = {
  create: () => ({ wiped: 0 }),
  handlers: {
    peek: () => 'secret',
    wipe: (_input, ctx) => {
      ctx.state.wiped++;
      return 'wiped' as const;
    },
    both: () => 'both' as const,
  },
};

/** The principal named in the credentials, with the permissions listed there. */
const byCredentials: Authenticator = {
  authenticate: ({ credentials }) => {
    const { id, permissions } = credentials as { id: string; permissions: string[] };
    return { ok: true, principal: { id, permissions } };
  },
};

let server: Server<typeof api>;
let transport: MemoryTransport;
const clients: Client<typeof api>[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await server?.close({ graceMs: 10 });
});

async function start() {
  transport = memoryTransport();
  server = await createServer({
    protocol: api,
    handlers: {},
    services: { vault },
    transport: transport.server,
    auth: byCredentials,
    logger: silentLogger,
  });
}

function client(id: string, permissions: string[]) {
  const made = createClient({
    protocol: api,
    url: 'memory://x',
    connect: transport.connect,
    credentials: { id, permissions },
  });
  clients.push(made);
  return made;
}

describe('permissions of service commands (calls on a channel)', () => {
  // Kills "the permission check skipped for commands on channels": without it, the guest's wipe
  // runs and answers "wiped".
  test('a command needing "vault:admin" is PERMISSION_DENIED on a channel to a principal without it, and runs for one with it', async () => {
    await start();
    const guest = await client('guest', []).openChannel('vault', { name: 'v' });
    expect(await guest.call('peek', {})).toBe('secret');
    const denied = await guest.call('wipe', {}).catch((e) => e);
    expect([denied.code, denied.message]).toEqual([
      'PERMISSION_DENIED',
      'wipe requires permission "vault:admin"',
    ]);
    const admin = await client('admin', ['vault:admin']).openChannel('vault', { name: 'v' });
    expect(await admin.call('wipe', {})).toBe('wiped');
    // Every listed permission is required: holding one of two is not enough.
    const partial = await admin.call('both', {}).catch((e) => e);
    expect([partial.code, partial.message]).toEqual([
      'PERMISSION_DENIED',
      'both requires permission "vault:audit"',
    ]);
    const auditor = await client('auditor', ['vault:*']).openChannel('vault', { name: 'v' });
    expect(await auditor.call('both', {})).toBe('both');
  });
});
