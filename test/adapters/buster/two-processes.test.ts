import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import { afterAll, expect, inject, test } from 'vitest';
import { threadStream } from '../../../src/adapters/buster/index.js';
import { BusterPeer, token } from './fixtures.js';

const redisUrl = inject('redisUrl');
if (!redisUrl) throw new Error('these tests need a Redis: install redis-server or set REDIS_URL');

const nodes: ChildProcess[] = [];
const peers: BusterPeer[] = [];
const redis = new Redis(redisUrl, { protocol: 2 });
afterAll(async () => {
  for (const peer of peers) peer.close();
  for (const node of nodes) node.kill('SIGKILL');
  await redis.quit();
});

/** Starts a Buster node in its own process and resolves with its port. */
async function startNode(): Promise<{ process: ChildProcess; port: number }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', new URL('./nodes/buster-node.ts', import.meta.url).pathname, redisUrl],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  nodes.push(child);
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`buster node exited with ${code}`)));
  });
  return { process: child, port: (JSON.parse(line) as { port: number }).port };
}

async function groups(stream: string): Promise<number> {
  try {
    return ((await redis.xinfo('GROUPS', stream)) as unknown[]).length;
  } catch {
    // No such stream: no groups.
    return 0;
  }
}

async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  await expect.poll(check, { timeout: 10_000, message: what }).toBe(true);
}

test("two server processes on one Redis: AllButSender reaches every connection of the thread except the sender's", async () => {
  const [a, b] = await Promise.all([startNode(), startNode()]);
  const thread = randomUUID();
  const [alice, bob, cid] = [randomUUID(), randomUUID(), randomUUID()];
  const open = async (port: number, userId: string) => {
    const peer = await BusterPeer.open(
      `ws://127.0.0.1:${port}/api/v1/ws?authentication=${await token(userId, { name: userId.slice(0, 4) })}`,
    );
    peers.push(peer);
    return peer;
  };
  const aliceA = await open(a.port, alice);
  const aliceB = await open(b.port, alice);
  const bobA = await open(a.port, bob);
  const cidB = await open(b.port, cid);
  const all = [aliceA, aliceB, bobA, cidB];
  for (const peer of all) peer.send('/threads/get', { id: thread });
  await eventually(async () => (await groups(threadStream(thread))) === 4, 'four groups on the thread');

  aliceA.send('/threads/post', { id: thread, text: 'not for alice', sendMethod: 'AllButSender' });
  await aliceA.next((m) => m.event === 'postThreads');
  aliceA.send('/threads/post', { id: thread, text: 'end', sendMethod: 'All' });
  const threadTexts = async (peer: BusterPeer) => {
    await peer.waitFor(
      () => (peer.messages.some((m) => m.payload?.text === 'end') ? true : undefined),
      10_000,
    );
    return peer.messages.filter((m) => m.event === 'messagePosted').map((m) => m.payload.text);
  };
  expect(await threadTexts(aliceA)).toEqual(['end']);
  expect(await threadTexts(aliceB)).toEqual(['end']);
  expect(await threadTexts(bobA)).toEqual(['not for alice', 'end']);
  expect(await threadTexts(cidB)).toEqual(['not for alice', 'end']);
  const delivered = bobA.messages.find((m) => m.payload?.text === 'not for alice');
  expect(delivered).toEqual({
    route: '/threads/post',
    event: 'messagePosted',
    payload: { text: 'not for alice' },
    sent_by: { id: alice, name: alice.slice(0, 4) },
    error: null,
    send_method: 'AllButSender',
  });

  // Node B shuts down: its connections leave their streams; the thread keeps node A's two groups.
  b.process.kill('SIGTERM');
  await eventually(async () => (await groups(threadStream(thread))) === 2, 'node B left the thread');
  expect(await redis.exists(cid)).toBe(0);
  expect(await groups(alice)).toBe(1);
});
