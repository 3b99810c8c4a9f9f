// The README's quick start, runnable as is: npx tsx --conditions=source examples/quick-start.ts
import { createClient } from 'switchboard/client';
import { command, defineProtocol, error, event } from 'switchboard/protocol';
import { ApiKeyStore, apiKeys, createServer } from 'switchboard/server';
import { z } from 'zod';

// 1. One protocol definition, imported by both server and client.
const api = defineProtocol({
  name: 'todo',
  version: '1.0.0',
  resources: {
    todos: {
      commands: {
        add: command({
          input: z.object({ title: z.string().min(1) }),
          output: z.object({ id: z.number(), title: z.string() }),
          permission: 'todos:write',
        }),
        get: command({
          input: z.object({ id: z.number() }),
          output: z.object({ id: z.number(), title: z.string() }),
          permission: 'todos:read',
        }),
      },
      events: { added: event(z.object({ id: z.number(), title: z.string() })) },
    },
  },
  errors: { TODO_NOT_FOUND: error('No such todo', z.object({ id: z.number() })) },
});

// 2. A server: handlers get validated input and a context, and return output.
const todos = new Map<number, { id: number; title: string }>();
const keys = new ApiKeyStore();
const apiKey = keys.issue({ id: 'ada', permissions: ['todos:*'] });
const server = await createServer({
  protocol: api,
  port: 0,
  auth: apiKeys(keys),
  handlers: {
    todos: {
      add: ({ title }, ctx) => {
        const todo = { id: todos.size + 1, title };
        todos.set(todo.id, todo);
        ctx.server.broadcast('todos.added', todo);
        return todo;
      },
      get: ({ id }, ctx) => todos.get(id) ?? ctx.fail('TODO_NOT_FOUND', `no todo ${id}`, { id }),
    },
  },
});

// 3. A client: calls are typed from the definition, no code generation.
const client = createClient({ protocol: api, url: server.url, credentials: { apiKey } });
client.on('todos.added', (todo) => console.log('event todos.added:', todo));
const todo = await client.call('todos.add', { title: 'write docs' });
console.log('added:', todo);
await client.call('todos.get', { id: 99 }).catch((e) => console.log('failed:', e.code, e.data));

client.close();
await server.close();
