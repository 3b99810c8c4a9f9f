// docs/server.md#middleware, runnable as is: npx tsx --conditions=source examples/middleware.ts
import { createClient } from 'switchboard/client';
import { command, defineProtocol } from 'switchboard/protocol';
import { type Authenticator, createServer, type Middleware, RequestError } from 'switchboard/server';
import { z } from 'zod';

declare module 'switchboard/server' {
  interface CallLocals {
    tenant?: string;
  }
}

const api = defineProtocol({
  name: 'tenants',
  version: '1.0.0',
  resources: {
    reports: { commands: { latest: command({ input: z.object({}), output: z.string() }) } },
  },
});

// Refuses callers without a tenant; hands the tenant to the handler as ctx.locals.tenant.
const tenants: Middleware = async (call, next) => {
  const tenant = call.principal.attributes?.tenant;
  if (typeof tenant !== 'string') throw new RequestError('PERMISSION_DENIED', 'no tenant');
  call.locals.tenant = tenant;
  await next();
};

// Sees every call's outcome and duration, refused ones included: metrics and traces start here.
const timing: Middleware = async (call, next) => {
  try {
    await next();
  } finally {
    const ms = call.durationMs?.toFixed(2);
    console.log(`${call.command} ${call.principal.id}: ${JSON.stringify(call.outcome)} in ${ms} ms`);
  }
};

// Anyone may connect as whom they say; a tenant comes with the credentials, or not.
const trusting: Authenticator = {
  authenticate: ({ credentials }) => {
    const { id, tenant } = credentials as { id: string; tenant?: string };
    return { ok: true, principal: { id, permissions: [], attributes: tenant ? { tenant } : {} } };
  },
};

const server = await createServer({
  protocol: api,
  handlers: { reports: { latest: (_input, ctx) => `latest report of ${ctx.locals.tenant}` } },
  port: 0,
  auth: trusting,
  middleware: [timing, tenants],
});

for (const credentials of [{ id: 'ada', tenant: 'acme' }, { id: 'eve' }]) {
  const client = createClient({ protocol: api, url: server.url, credentials });
  console.log(await client.call('reports.latest', {}).catch((error) => `refused: ${error.code}`));
  client.close();
}
await server.close();
