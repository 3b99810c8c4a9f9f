import { request } from 'node:http';
import { afterEach, describe, expect, test } from 'vitest';
import type { UpgradeRequest } from '../../src/server/index.js';
import { type Harness, startHarness } from '../support/harness.js';

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

/** The agent-sandbox worker's check: a shared token in a header, refused before any upgrade. */
const verifyUpgrade = (upgrade: UpgradeRequest) =>
  upgrade.headers['agentbox-sync-token'] === 'secret'
    ? undefined
    : {
        status: 401,
        body: '{"error":"invalid sync token"}',
        headers: { 'Content-Type': 'application/json', 'X-Reason': 'token' },
      };

/** Sends a raw upgrade request and reports the HTTP answer (101, or a refusal). */
function upgrade(port: number, headers: Record<string, string>) {
  return new Promise<{ status: number; headers: Record<string, unknown>; body: string }>(
    (resolve, reject) => {
      const req = request({
        host: '127.0.0.1',
        port,
        path: '/v1/ws/sync',
        headers: {
          Connection: 'Upgrade',
          Upgrade: 'websocket',
          'Sec-WebSocket-Version': '13',
          'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
          ...headers,
        },
      });
      req.on('upgrade', (response, socket) => {
        socket.destroy();
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body: '' });
      });
      req.on('response', (response) => {
        let body = '';
        response.on('data', (chunk) => {
          body += chunk;
        });
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body }),
        );
      });
      req.on('error', reject);
      req.end();
    },
  );
}

describe('verifyUpgrade', () => {
  test('over ws, answers a refused upgrade with its status, headers and body and makes no connection', async () => {
    harness = await startHarness({ verifyUpgrade }, {}, 'ws');
    const refused = await upgrade(harness.server.port!, { 'AGENTBOX-SYNC-TOKEN': 'wrong' });
    expect(refused.status).toBe(401);
    expect(refused.body).toBe('{"error":"invalid sync token"}');
    expect(refused.headers['content-type']).toBe('application/json');
    expect(refused.headers['x-reason']).toBe('token');
    const accepted = await upgrade(harness.server.port!, { 'AGENTBOX-SYNC-TOKEN': 'secret' });
    expect(accepted.status).toBe(101);
  });

  test('over ws, a check that throws refuses with 500 and no detail', async () => {
    harness = await startHarness(
      {
        verifyUpgrade: () => {
          throw new Error('database password is hunter2');
        },
      },
      {},
      'ws',
    );
    const refused = await upgrade(harness.server.port!, {});
    expect(refused).toMatchObject({ status: 500, body: 'upgrade check failed' });
  });

  test('over memory, a refused upgrade closes with 1008 and the body as the reason', async () => {
    harness = await startHarness({ verifyUpgrade: async (request) => verifyUpgrade(request) }, {});
    const peer = harness.raw();
    expect(await peer.closed).toEqual({ code: 1008, reason: '{"error":"invalid sync token"}' });
  });
});
