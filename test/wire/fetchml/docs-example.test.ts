import { command, defineProtocol } from 'switchboard/protocol';
import { ApiKeyStore, type Authenticator, apiKeys, createServer, silentLogger } from 'switchboard/server';
import { expect, test } from 'vitest';
import { WebSocket } from 'ws';
import { z } from 'zod';
import { FetchmlClient } from '../../../src/adapters/fetchml/index.js';
import { type WebSocketConstructor, webSocketConnector } from '../../../src/transport/websocket.js';
import { dataPacket, fetchmlWire, successPacket } from '../../../src/wire/fetchml/index.js';

/** The example of docs/wire-fetchml.md "Serving a protocol over it", run: port 0 instead of 9100. */
test('the docs example serves a protocol over the fetch_ml wire and a FetchmlClient calls it', async () => {
  const perFrameKeys = (store: ApiKeyStore): Authenticator => ({
    authenticate: () => ({ ok: true, principal: { id: 'anonymous', permissions: [] } }),
    authenticateCall: (hash, connection) => apiKeys(store).authenticateCall!(hash, connection),
  });

  const api = defineProtocol({
    name: 'datasets',
    version: '1.0.0',
    resources: {
      datasets: {
        commands: {
          search: command({
            input: z.object({ term: z.string() }),
            output: z.array(z.string()),
            permission: 'datasets:read',
          }),
          register: command({
            input: z.object({ name: z.string(), url: z.string() }),
            output: z.null(),
            permission: 'datasets:create',
          }),
        },
      },
    },
  });

  const store = new ApiKeyStore();
  const apiKey = store.issue({ id: 'me', permissions: ['datasets:*'] });
  const names: string[] = [];

  const server = await createServer({
    protocol: api,
    handlers: {
      datasets: {
        search: ({ term }) => names.filter((name) => name.includes(term)),
        register: ({ name }) => {
          names.push(name);
          return null;
        },
      },
    },
    port: 0,
    host: '127.0.0.1',
    path: '/ws',
    wire: fetchmlWire({
      binding: {
        operations: {
          dataset_search: { command: 'datasets.search', input: (f) => ({ term: f.term }) },
          dataset_register: { command: 'datasets.register', input: (f) => ({ name: f.name, url: f.url }) },
        },
        replies: {
          'datasets.search': { result: (names) => dataPacket('datasets', names) },
          'datasets.register': { result: () => successPacket('registered') },
        },
      },
    }),
    auth: perFrameKeys(store),
    logger: silentLogger,
  });

  const client = await FetchmlClient.connect({
    url: server.url,
    apiKey,
    connect: webSocketConnector(WebSocket as unknown as WebSocketConstructor),
  });
  try {
    expect(await client.call('dataset_register', { name: 'mnist', url: 's3://d/mnist' })).toBe('registered');
    expect(await client.call('dataset_search', { term: 'mn' })).toEqual(['mnist']);
  } finally {
    client.close();
    await server.close({ graceMs: 10 });
  }
});
