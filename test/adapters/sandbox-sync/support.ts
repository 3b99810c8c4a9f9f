import { request as httpRequest, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import type { Logger } from '../../../src/server/logger.js';

/** Resolves with the first event `predicate` accepts; fails after `timeoutMs`. */
export function waitFor<E, T extends E = E>(
  subscribe: (listener: (event: E) => void) => () => void,
  predicate: (event: E) => event is T,
  timeoutMs?: number,
): Promise<T>;
export function waitFor<E>(
  subscribe: (listener: (event: E) => void) => () => void,
  predicate: (event: E) => boolean,
  timeoutMs?: number,
): Promise<E>;
export function waitFor<E>(
  subscribe: (listener: (event: E) => void) => () => void,
  predicate: (event: E) => boolean,
  timeoutMs = 5000,
): Promise<E> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`no matching event within ${timeoutMs} ms`));
    }, timeoutMs);
    const stop = subscribe((event) => {
      if (!predicate(event)) return;
      clearTimeout(timer);
      stop();
      resolve(event);
    });
  });
}

/** A logger that keeps its records for assertions. */
export function recordingLogger() {
  const records: { level: string; message: string; fields: Record<string, unknown> }[] = [];
  const logger: Logger = {
    error: (message, fields = {}) => records.push({ level: 'error', message, fields }),
    warn: (message, fields = {}) => records.push({ level: 'warn', message, fields }),
    info: (message, fields = {}) => records.push({ level: 'info', message, fields }),
  };
  return { logger, records };
}

/** Sends an HTTP upgrade request and resolves with the HTTP answer when it was refused. */
export function upgradeRequest(
  port: number,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string; headers: IncomingMessage['headers'] }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest({
      host: '127.0.0.1',
      port,
      path,
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
        ...headers,
      },
    });
    request.on('upgrade', () => reject(new Error('the upgrade went through')));
    request.on('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({
          status: response.statusCode ?? 0,
          body: Buffer.concat(chunks).toString(),
          headers: response.headers,
        }),
      );
    });
    request.on('error', reject);
    request.end();
  });
}

/** A raw `ws` client standing in for the ws-proxy: it records every text message. */
export async function fakeProxy(port: number, token: string) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/ws/sync`, {
    headers: { 'AGENTBOX-SYNC-TOKEN': token },
  });
  const received: string[] = [];
  const listeners = new Set<(text: string) => void>();
  ws.on('message', (data) => {
    const text = data.toString();
    received.push(text);
    for (const listener of listeners) listener(text);
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const onMessage = (listener: (text: string) => void) => {
    listeners.add(listener);
    return () => listeners.delete(listener);
  };
  return {
    ws,
    received,
    onMessage,
    /** The next message, parsed. */
    next: () => waitFor(onMessage, () => true).then((text) => JSON.parse(text) as Record<string, unknown>),
    send: (text: string) => ws.send(text),
  };
}

/** A raw `ws` server standing in for a Worker: it records upgrade requests and messages. */
export async function fakeWorker(options: { autoPong?: boolean } = {}) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, autoPong: options.autoPong ?? true });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const requests: IncomingMessage[] = [];
  const connections: { ws: WebSocket; received: string[] }[] = [];
  const listeners = new Set<(event: { ws: WebSocket; text?: string; ping?: true }) => void>();
  const emit = (event: { ws: WebSocket; text?: string; ping?: true }) => {
    for (const listener of listeners) listener(event);
  };
  wss.on('connection', (ws, request) => {
    requests.push(request);
    const connection = { ws, received: [] as string[] };
    connections.push(connection);
    ws.on('message', (data) => {
      connection.received.push(data.toString());
      emit({ ws, text: data.toString() });
    });
    ws.on('ping', () => emit({ ws, ping: true }));
    emit({ ws });
  });
  const on = (listener: (event: { ws: WebSocket; text?: string; ping?: true }) => void) => {
    listeners.add(listener);
    return () => listeners.delete(listener);
  };
  return {
    wss,
    port: (wss.address() as AddressInfo).port,
    requests,
    connections,
    on,
    /** Resolves once `count` messages arrived on the latest connection. */
    async messages(count: number): Promise<string[]> {
      const current = () => connections.at(-1)?.received ?? [];
      if (current().length < count) await waitFor(on, () => current().length >= count);
      return current().slice(0, count);
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close(() => resolve());
      }),
  };
}
