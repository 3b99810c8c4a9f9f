import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { WebSocket } from 'ws';
import { z } from 'zod';
import {
  type BusterContext,
  type BusterHandlers,
  draftKey,
  threadStream,
} from '../../../src/adapters/buster/index.js';
import { command, defineProtocol, error, event } from '../../../src/protocol/index.js';
import { until } from '../../support/harness.js';

export const SECRET = 'buster-test-secret-that-is-long-enough';

const sendMethod = z.enum(['SenderOnly', 'AllButSender', 'All']);

/** A protocol shaped like Buster's routes: sql, threads (with a thread stream) and a guarded one. */
export const busterProtocol = defineProtocol({
  name: 'buster-test',
  version: '1.0.0',
  resources: {
    sql: {
      commands: {
        run: command({
          input: z.object({ sql: z.string() }),
          output: z.object({ rows: z.array(z.object({ n: z.number() })) }),
        }),
      },
    },
    threads: {
      commands: {
        get: command({
          input: z.object({ id: z.string() }),
          output: z.object({ id: z.string(), title: z.string() }),
        }),
        post: command({
          input: z.object({ id: z.string(), text: z.string(), sendMethod }),
          output: z.object({ posted: z.boolean() }),
        }),
        messagesUpdate: command({
          input: z.object({ id: z.string(), text: z.string() }),
          output: z.object({ draft: z.string() }),
        }),
        unsubscribe: command({ input: z.object({ id: z.string() }), output: z.null() }),
      },
      events: { joinedThread: event(z.object({ id: z.string() })) },
    },
    admin: {
      commands: {
        secret: command({ input: z.null(), output: z.string(), permission: 'admin:read' }),
        crash: command({ input: z.null(), output: z.null() }),
        find: command({ input: z.object({ id: z.string() }), output: z.null() }),
        slow: command({ input: z.null(), output: z.null(), timeoutMs: 30 }),
      },
    },
  },
  errors: { THREAD_NOT_FOUND: error('Thread not found') },
});

export type BusterTestProtocol = typeof busterProtocol;

export const busterHandlers: BusterHandlers<BusterTestProtocol> = {
  sql: {
    // A handler written for plain Switchboard: it never touches the Buster context.
    run: ({ sql }) => ({ rows: [{ n: sql.length }] }),
  },
  threads: {
    get: async ({ id }, ctx) => {
      await ctx.subscribe(threadStream(id));
      return { id, title: `thread ${id}` };
    },
    post: async ({ id, text, sendMethod }, ctx: BusterContext<BusterTestProtocol>) => {
      await ctx.send(threadStream(id), { payload: { text }, sendMethod, event: 'messagePosted' });
      return { posted: true };
    },
    messagesUpdate: async ({ id }, ctx) => {
      // Editing a saved thread opens a draft session, as Buster does.
      const draft = randomUUID();
      await ctx.setKeyValue(draftKey(threadStream(id)), draft);
      return { draft };
    },
    unsubscribe: async ({ id }, ctx) => {
      await ctx.unsubscribe(threadStream(id));
      return null;
    },
  },
  admin: {
    secret: () => 'the secret',
    crash: () => {
      throw new Error('database exploded');
    },
    find: ({ id }, ctx) => ctx.fail('THREAD_NOT_FOUND', `no thread ${id}`),
    slow: (_input, ctx) =>
      new Promise((resolve) => ctx.signal.addEventListener('abort', () => resolve(null))),
  },
};

/** A JWT as Buster's auth issues it: HS256, aud `authenticated`, sub = the user id. */
export async function token(
  sub: string,
  claims: Record<string, unknown> = {},
  options: { audience?: string; secret?: string; expiresIn?: string } = {},
): Promise<string> {
  return new SignJWT({ email: `${sub.slice(0, 8)}@example.com`, ...claims })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setAudience(options.audience ?? 'authenticated')
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? '1h')
    .sign(new TextEncoder().encode(options.secret ?? SECRET));
}

/** A raw Buster client: a `ws` socket that keeps every text frame it receives, parsed. */
export class BusterPeer {
  readonly messages: Record<string, any>[] = [];
  readonly texts: string[] = [];
  readonly pings: Buffer[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private waiters: (() => void)[] = [];
  private consumed = 0;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      const text = data.toString();
      this.texts.push(text);
      this.messages.push(JSON.parse(text));
      this.notify();
    });
    ws.on('ping', (data) => {
      this.pings.push(data);
      this.notify();
    });
    this.closed = new Promise((resolve) =>
      ws.once('close', (code, reason) => {
        resolve({ code, reason: reason.toString() });
        this.notify();
      }),
    );
  }

  /** Opens a socket and resolves once it is open. */
  static async open(
    url: string,
    options: ConstructorParameters<typeof WebSocket>[2] = {},
  ): Promise<BusterPeer> {
    const ws = new WebSocket(url, options);
    const peer = new BusterPeer(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return peer;
  }

  send(route: string, payload: unknown): void {
    this.ws.send(JSON.stringify({ route, payload }));
  }

  /** Waits for the next message (in arrival order, from the last one consumed) matching `predicate`. */
  async next(predicate: (message: Record<string, any>) => boolean = () => true, timeoutMs = 3000) {
    const index = await this.waitFor(() => {
      for (let i = this.consumed; i < this.messages.length; i++) {
        if (predicate(this.messages[i] as Record<string, any>)) return i;
      }
      return undefined;
    }, timeoutMs);
    this.consumed = index + 1;
    return { message: this.messages[index] as Record<string, any>, text: this.texts[index] as string };
  }

  /** Resolves when `check` gives a value, re-checked on every frame; fails after `timeoutMs`. */
  async waitFor<T>(check: () => T | undefined, timeoutMs = 3000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = check();
      if (value !== undefined) return value;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out; received ${JSON.stringify(this.messages)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.ws.close(1000);
  }

  private notify(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }
}

/** The status and headers of a refused upgrade. */
export function refusedUpgrade(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.on('open', () => reject(new Error('the upgrade was accepted')));
    ws.on('error', () => {});
    ws.on('unexpected-response', (_request, response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body }),
      );
    });
  });
}

/** What `connectUser` needs of a server: its URL and its open connections. */
interface ServerView {
  readonly url: string;
  list(): readonly { readonly user: { readonly id: string }; readonly subscriptions: ReadonlySet<string> }[];
}

/**
 * Opens a socket as `userId` (Bearer token with `claims`) and resolves once its personal stream
 * is followed, so that nothing sent to it after this can be missed.
 */
export async function connectUser(server: ServerView, userId: string, claims = {}): Promise<BusterPeer> {
  const peer = await BusterPeer.open(server.url, {
    headers: { Authorization: `Bearer ${await token(userId, claims)}` },
  });
  await until(
    () => server.list().some((c) => c.user.id === userId && c.subscriptions.has(userId)),
    3000,
    'personal stream',
  );
  return peer;
}
