// `npm run bench`: every contender, every workload, in one run on this machine; writes bench/RESULTS.md.
// Servers run in their own processes; this process is the load generator.
import { type ChildProcess, execFileSync, fork, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, connect as tcpConnect } from 'node:net';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { decodeJson, encodeJson } from 'switchboard/wire';
import { RedisCluster } from '../test/support/redis-cluster.js';
import { connect, type LoadClient } from './load.js';
import {
  brokerThroughput,
  CLUSTER_IN_FLIGHT,
  CLUSTER_PUBLICATIONS,
  CLUSTER_SUBSCRIBERS,
  CLUSTER_TOPICS,
} from './redis-cluster.js';
import type { Contender } from './servers.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
/** `BENCH_ONLY=slow` (or rpc, fanout, memory, flood, wire, cluster) runs one workload, for a quick look. */
const ONLY = process.env.BENCH_ONLY;
const runs = (workload: string) => ONLY === undefined || ONLY === workload;
const RPC_SECONDS = Number(process.env.BENCH_RPC_SECONDS ?? 2);
const CONTENDERS: Contender[] = ['raw-ws', 'batched-ws', 'socket.io', 'switchboard'];

interface ServerProcess {
  readonly port: number;
  request<T>(message: object, reply: string): Promise<T>;
  send(message: object): void;
  stop(): void;
}

async function startServer(contender: Contender, redisUrl?: string): Promise<ServerProcess> {
  const child: ChildProcess = fork(
    new URL('./servers.ts', import.meta.url).pathname,
    [contender, ...(redisUrl ? [redisUrl] : [])],
    {
      execArgv: ['--import', 'tsx', '--conditions=source', '--expose-gc'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    },
  );
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m: { port: number }) => resolve(m.port));
    child.once('exit', (code) => reject(new Error(`${contender} server exited with ${code}`)));
  });
  return {
    port,
    request<T>(message: object, reply: string) {
      return new Promise<T>((resolve) => {
        const onMessage = (m: { type: string }) => {
          if (m.type !== reply) return;
          child.off('message', onMessage);
          resolve(m as T);
        };
        child.on('message', onMessage);
        child.send(message);
      });
    },
    send: (message) => child.send(message),
    stop: () => child.kill('SIGKILL'),
  };
}

async function openClients(contender: Contender, port: number, count: number): Promise<LoadClient[]> {
  const clients: LoadClient[] = [];
  for (let i = 0; i < count; i += 50) {
    clients.push(
      ...(await Promise.all(Array.from({ length: Math.min(50, count - i) }, () => connect(contender, port)))),
    );
  }
  return clients;
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;

interface RpcResult {
  rps: number;
  p50: number;
  p99: number;
  cpuMicrosPerRt: number;
}

async function rpc(contender: Contender, connections: number, inFlight: number): Promise<RpcResult> {
  const server = await startServer(contender);
  const clients = await openClients(contender, server.port, connections);
  const drive = async (seconds: number, latencies?: number[]) => {
    const end = performance.now() + seconds * 1000;
    let count = 0;
    await Promise.all(
      clients.flatMap((client) =>
        Array.from({ length: inFlight }, async () => {
          while (performance.now() < end) {
            const start = performance.now();
            await client.call(count);
            latencies?.push(performance.now() - start);
            count++;
          }
        }),
      ),
    );
    return count;
  };
  await drive(0.5); // warm up the JIT on both sides
  const latencies: number[] = [];
  const cpuBefore = (await server.request<{ micros: number }>({ type: 'cpu' }, 'cpu')).micros;
  const started = performance.now();
  const count = await drive(RPC_SECONDS, latencies);
  const elapsed = (performance.now() - started) / 1000;
  const cpuAfter = (await server.request<{ micros: number }>({ type: 'cpu' }, 'cpu')).micros;
  for (const client of clients) client.close();
  server.stop();
  latencies.sort((a, b) => a - b);
  return {
    rps: count / elapsed,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    cpuMicrosPerRt: (cpuAfter - cpuBefore) / count,
  };
}

interface FanoutResult {
  deliveriesPerSecond: number;
  lastMs: number;
}

const SUBSCRIBERS = 1000;
const PUBLICATIONS = 200;

async function fanout(contender: Contender, redisUrl?: string): Promise<FanoutResult> {
  const nodes = [await startServer(contender, redisUrl)];
  if (redisUrl) nodes.push(await startServer(contender, redisUrl));
  const clients: LoadClient[] = [];
  for (const [i, node] of nodes.entries()) {
    clients.push(
      ...(await openClients(
        contender,
        node.port,
        SUBSCRIBERS / nodes.length + (i === 0 ? SUBSCRIBERS % nodes.length : 0),
      )),
    );
  }
  let delivered = 0;
  let done!: () => void;
  const all = new Promise<void>((resolve) => {
    done = resolve;
  });
  await Promise.all(
    clients.map((client) =>
      client.follow(() => {
        if (++delivered === SUBSCRIBERS * PUBLICATIONS) done();
      }),
    ),
  );
  const data = 'x'.repeat(100);
  const started = performance.now();
  nodes[0]!.send({ type: 'fanout', count: PUBLICATIONS, data });
  const timeout = new Promise((_, reject) =>
    setTimeout(() => reject(new Error(`${contender}: fan-out incomplete (${delivered})`)), 60_000),
  );
  await Promise.race([all, timeout]);
  const elapsed = performance.now() - started;
  for (const client of clients) client.close();
  for (const node of nodes) node.stop();
  return { deliveriesPerSecond: (SUBSCRIBERS * PUBLICATIONS) / (elapsed / 1000), lastMs: elapsed };
}

/** Slow consumer: live subscribers, one that stops reading, 4 KB publications. */
const SLOW_LIVE = 5;
const SLOW_PUBLICATIONS = 5000;
const SLOW_BYTES = 4096;

interface SlowConsumerResult {
  liveDeliveriesPerSecond: number;
  /** What the server still holds after a GC (JS heap + buffers) once the others have everything, in MB. */
  heldMegabytes: number;
}

/**
 * One subscriber stops reading while 5,000 publications of 4 KB go to it and 5 others. The peers
 * (and Switchboard's default `disconnect` policy up to its 8 MiB limit) buffer for it; Switchboard's
 * `drop-oldest` topic keeps the newest 100. Measured: what the live ones get, and what the server holds.
 */
async function slowConsumer(contender: Contender): Promise<SlowConsumerResult> {
  const server = await startServer(contender);
  // Retained memory, not RSS: RSS keeps the high-water mark of the burst itself.
  type Usage = { heapUsed: number; external: number };
  const live = await openClients(contender, server.port, SLOW_LIVE);
  const [slow] = await openClients(contender, server.port, 1);
  let delivered = 0;
  let done!: () => void;
  const all = new Promise<void>((resolve) => {
    done = resolve;
  });
  await Promise.all(
    live.map((client) =>
      client.follow(() => {
        if (++delivered === SLOW_LIVE * SLOW_PUBLICATIONS) done();
      }, true),
    ),
  );
  await slow!.follow(() => {}, true);
  slow!.pause();
  const before = await server.request<Usage>({ type: 'memory' }, 'memory');
  const started = performance.now();
  server.send({ type: 'fanout', count: SLOW_PUBLICATIONS, data: 'x'.repeat(SLOW_BYTES), bounded: true });
  const timeout = new Promise((_, reject) =>
    setTimeout(
      () => reject(new Error(`${contender}: slow-consumer fan-out incomplete (${delivered})`)),
      60_000,
    ),
  );
  await Promise.race([all, timeout]);
  const elapsed = performance.now() - started;
  const after = await server.request<Usage>({ type: 'memory' }, 'memory');
  for (const client of [...live, slow!]) client.close();
  server.stop();
  return {
    liveDeliveriesPerSecond: (SLOW_LIVE * SLOW_PUBLICATIONS) / (elapsed / 1000),
    heldMegabytes: Math.max(0, after.heapUsed + after.external - before.heapUsed - before.external) / 2 ** 20,
  };
}

/** Seconds the witness is measured alone, then beside the flooder. */
const FLOOD_SECONDS = Number(process.env.BENCH_FLOOD_SECONDS ?? 3);
/** The witness starts its next call by a timer of what is left of this (Node rounds it down): 500–750 per second, under the default `ratePerSecond`. */
const WITNESS_INTERVAL_MS = 2;

interface FloodResult {
  aloneP50: number;
  aloneP99: number;
  besideP50: number;
  besideP99: number;
  /** The witness's round trips per second beside the flooder. */
  besideRps: number;
  /** The server's event-loop delay p99 (ms) and its CPU use (share of one core), alone and beside. */
  aloneLoopP99: number;
  besideLoopP99: number;
  aloneCpu: number;
  besideCpu: number;
  flooderConnections: number;
  flooderRefused: number;
  flooderFrames: number;
  flooderRateLimited: number;
}

/**
 * A well-behaved client (one call in flight, paced under the rate limit) measured alone, then beside a
 * flooder from the same address in its own process that sends calls unpaced after each handshake
 * and reconnects the moment it is closed or refused. Switchboard keeps its default limits.
 */
async function flood(contender: 'switchboard-default-limits' | 'raw-ws'): Promise<FloodResult> {
  const server = await startServer(contender);
  const [witness] = await openClients(contender, server.port, 1);
  const measure = async (seconds: number) => {
    const latencies: number[] = [];
    const end = performance.now() + seconds * 1000;
    for (let n = 0; performance.now() < end; n++) {
      const start = performance.now();
      await witness!.call(n);
      latencies.push(performance.now() - start);
      // Well-behaved: paced under the default rate limit.
      const wait = start + WITNESS_INTERVAL_MS - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
    latencies.sort((a, b) => a - b);
    return {
      p50: percentile(latencies, 0.5),
      p99: percentile(latencies, 0.99),
      rps: latencies.length / seconds,
    };
  };
  type Loop = { p99Ms: number };
  const cpu = async () => (await server.request<{ micros: number }>({ type: 'cpu' }, 'cpu')).micros;
  /** The witness measured, with the server's CPU and event-loop delay over the same seconds. */
  const phase = async () => {
    await server.request<Loop>({ type: 'loop-delay', reset: true }, 'loop-delay');
    const [cpuBefore, started] = [await cpu(), performance.now()];
    const witnessed = await measure(FLOOD_SECONDS);
    const share = (await cpu()) - cpuBefore;
    const loop = await server.request<Loop>({ type: 'loop-delay' }, 'loop-delay');
    return { ...witnessed, loopP99: loop.p99Ms, cpu: share / 1000 / (performance.now() - started) };
  };
  await measure(0.5); // warm up the JIT on both sides
  const alone = await phase();
  const flooder = fork(new URL('./flooder.ts', import.meta.url).pathname, [contender, String(server.port)], {
    execArgv: ['--import', 'tsx', '--conditions=source'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  await new Promise((resolve) => flooder.once('message', resolve));
  const beside = await phase();
  type Stats = {
    connections: number;
    refusedUpgrades: Record<string, number>;
    framesSent: number;
    rateLimited: number;
  };
  const stats = await new Promise<Stats>((resolve) => {
    flooder.on('message', (m: { type: string } & Stats) => m.type === 'stats' && resolve(m));
    flooder.send({ type: 'stats' });
  });
  flooder.kill('SIGKILL');
  witness!.close();
  server.stop();
  return {
    aloneP50: alone.p50,
    aloneP99: alone.p99,
    besideP50: beside.p50,
    besideP99: beside.p99,
    besideRps: beside.rps,
    aloneLoopP99: alone.loopP99,
    besideLoopP99: beside.loopP99,
    aloneCpu: alone.cpu,
    besideCpu: beside.cpu,
    flooderConnections: stats.connections,
    flooderRefused: Object.values(stats.refusedUpgrades).reduce((a, b) => a + b, 0),
    flooderFrames: stats.framesSent,
    flooderRateLimited: stats.rateLimited,
  };
}

const FLOOD_CONTENDERS = ['switchboard-default-limits', 'raw-ws'] as const;

interface MemoryResult {
  rssPerConnection: number;
  heapPerConnection: number;
}

async function memory(contender: Contender): Promise<MemoryResult> {
  const server = await startServer(contender);
  type Usage = { rss: number; heapUsed: number };
  const before = await server.request<Usage>({ type: 'memory' }, 'memory');
  const clients = await openClients(contender, server.port, 2000);
  // One round trip each before measuring: a used idle connection, not one that never exchanged a
  // message. Switchboard's handshake is already an exchange; raw ws's and Socket.IO's would not be.
  await Promise.all(clients.map((client) => client.call(0)));
  await new Promise((resolve) => setTimeout(resolve, 500));
  const after = await server.request<Usage>({ type: 'memory' }, 'memory');
  for (const client of clients) client.close();
  server.stop();
  return {
    rssPerConnection: (after.rss - before.rss) / 2000,
    heapPerConnection: (after.heapUsed - before.heapUsed) / 2000,
  };
}

interface WireResult {
  encodePerSecond: number;
  decodePerSecond: number;
  bytes: number;
}

function wire(format: 'switchboard.json' | 'plain JSON envelope'): WireResult {
  const output = { id: 'job-42', name: 'train', priority: 5, state: 'running', tags: ['a', 'b'] };
  const message = { type: 'result', id: 1234, output } as const;
  const encode =
    format === 'switchboard.json'
      ? () => encodeJson(message)
      : () => JSON.stringify({ id: 1234, result: output });
  const decode = format === 'switchboard.json' ? (s: string) => decodeJson(s) : (s: string) => JSON.parse(s);
  const frame = encode();
  const time = (work: () => unknown) => {
    const n = 200_000;
    for (let i = 0; i < 20_000; i++) work();
    const start = performance.now();
    for (let i = 0; i < n; i++) work();
    return n / ((performance.now() - start) / 1000);
  };
  return {
    encodePerSecond: time(encode),
    decodePerSecond: time(() => decode(frame)),
    bytes: Buffer.byteLength(frame),
  };
}

// ---- redis for the cross-node fan-out

async function startRedis(): Promise<{ url: string; stop: () => void } | undefined> {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
  } catch {
    return undefined;
  }
  const port = await new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = tcpConnect(port, '127.0.0.1', () => {
        socket.end();
        resolve(true);
      }).once('error', () => resolve(false));
    });
    if (open) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { url: `redis://127.0.0.1:${port}`, stop: () => child.kill('SIGKILL') };
}

// ---- one run, several runs, the table

type Sample = Record<string, number>;
const samples = new Map<string, Sample[]>();
const record = (name: string, sample: Sample) => samples.set(name, [...(samples.get(name) ?? []), sample]);

const RPC_SHAPES = [
  [1, 1],
  [1, 32],
  [50, 1],
  [50, 32],
] as const;

const redis = await startRedis();
const cluster = redis && runs('cluster') ? await RedisCluster.start() : undefined;
const began = performance.now();
for (let run = 1; run <= RUNS; run++) {
  console.error(`run ${run}/${RUNS}`);
  for (const [connections, inFlight] of runs('rpc') ? RPC_SHAPES : []) {
    for (const contender of CONTENDERS) {
      record(`rpc ${connections}x${inFlight} ${contender}`, {
        ...(await rpc(contender, connections, inFlight)),
      });
    }
  }
  for (const contender of runs('fanout') ? CONTENDERS : [])
    record(`fanout ${contender}`, { ...(await fanout(contender)) });
  if (redis && runs('fanout')) {
    record('fanout switchboard-redis', { ...(await fanout('switchboard-redis', redis.url)) });
    record('fanout socket.io-redis', { ...(await fanout('socket.io-redis', redis.url)) });
  }
  if (redis && cluster) {
    record('cluster one Redis', { ...(await brokerThroughput({ redis: redis.url })) });
    record('cluster three shards', { ...(await brokerThroughput({ cluster: { nodes: cluster.urls } })) });
  }
  for (const contender of runs('memory') ? CONTENDERS : [])
    record(`memory ${contender}`, { ...(await memory(contender)) });
  for (const contender of runs('slow') ? CONTENDERS : [])
    record(`slow ${contender}`, { ...(await slowConsumer(contender)) });
  for (const contender of runs('flood') ? FLOOD_CONTENDERS : [])
    record(`flood ${contender}`, { ...(await flood(contender)) });
  for (const format of runs('wire') ? (['switchboard.json', 'plain JSON envelope'] as const) : [])
    record(`wire ${format}`, { ...wire(format) });
}
redis?.stop();
await cluster?.stop();

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};
const stat = (name: string, field: string) => {
  const values = (samples.get(name) ?? []).map((s) => s[field]!);
  return { median: median(values), min: Math.min(...values), max: Math.max(...values) };
};
const fmt = (value: number, digits = 0) =>
  value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const cell = (name: string, field: string, digits = 0) => {
  if (!samples.has(name)) return 'not run';
  const { median, min, max } = stat(name, field);
  return `${fmt(median, digits)} (${fmt(min, digits)}–${fmt(max, digits)})`;
};
const ratio = (name: string, peer: string, field: string) =>
  samples.has(name) && samples.has(peer)
    ? (stat(name, field).median / stat(peer, field).median).toFixed(2)
    : '–';

const lines: string[] = [];
lines.push('# Benchmark results', '');
lines.push(
  `Machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}.`,
  `Date: ${new Date().toISOString().slice(0, 10)}. ${RUNS} runs; each cell is the median (min–max). Ratios compare medians of this run only.`,
  `Servers run in their own process, the load generator in another, over loopback. Wall time: ${fmt((performance.now() - began) / 1000)} s.`,
  '',
  '## RPC',
  '',
  'connections × calls in flight. Round trips per second, latency in ms, server CPU per round trip in µs.',
  '',
  '| shape | contender | round trips/s | p50 ms | p99 ms | server CPU µs/RT | rps ÷ raw ws | CPU ÷ batched ws | CPU ÷ Socket.IO |',
  '|---|---|---|---|---|---|---|---|---|',
);
for (const [connections, inFlight] of RPC_SHAPES) {
  for (const contender of CONTENDERS) {
    const name = `rpc ${connections}x${inFlight} ${contender}`;
    const peer = (other: Contender) => `rpc ${connections}x${inFlight} ${other}`;
    lines.push(
      `| ${connections}×${inFlight} | ${contender} | ${cell(name, 'rps')} | ${cell(name, 'p50', 2)} | ${cell(name, 'p99', 2)} | ${cell(name, 'cpuMicrosPerRt', 1)} | ${ratio(name, peer('raw-ws'), 'rps')} | ${ratio(name, peer('batched-ws'), 'cpuMicrosPerRt')} | ${ratio(name, peer('socket.io'), 'cpuMicrosPerRt')} |`,
    );
  }
}
lines.push(
  '',
  `## Fan-out`,
  '',
  `${PUBLICATIONS} publications of ~100 bytes to ${SUBSCRIBERS} subscribers.`,
  '',
);
lines.push(
  '| contender | deliveries/s | ms until the last subscriber has the last message | ÷ raw ws | ÷ batched ws | ÷ Socket.IO |',
  '|---|---|---|---|---|---|',
);
const REDIS_LABELS: Record<string, string> = {
  'switchboard-redis': 'switchboard, Redis broker, 2 nodes',
  'socket.io-redis': 'socket.io, Redis adapter, 2 nodes',
};
for (const contender of [
  ...CONTENDERS,
  ...(redis ? (['switchboard-redis', 'socket.io-redis'] as const) : []),
]) {
  const name = `fanout ${contender}`;
  lines.push(
    `| ${REDIS_LABELS[contender] ?? contender} | ${cell(name, 'deliveriesPerSecond')} | ${cell(name, 'lastMs')} | ${ratio(name, 'fanout raw-ws', 'deliveriesPerSecond')} | ${ratio(name, 'fanout batched-ws', 'deliveriesPerSecond')} | ${ratio(name, 'fanout socket.io', 'deliveriesPerSecond')} |`,
  );
}
lines.push(
  '',
  '## Redis Cluster',
  '',
  `The Redis broker alone (no WebSocket), in the load generator's process: ${fmt(CLUSTER_PUBLICATIONS)} publications of ~100 bytes over ${CLUSTER_TOPICS} topics, ${CLUSTER_IN_FLIGHT} in flight from one publishing broker, each delivered to ${CLUSTER_SUBSCRIBERS} subscribing brokers. One Redis, then a cluster of three primaries and three replicas on the same machine.`,
  '',
  '| backend | publications/s | fan-out deliveries/s | publications ÷ one Redis | deliveries ÷ one Redis | Node CPU µs/publication |',
  '|---|---|---|---|---|---|',
);
for (const backend of ['one Redis', 'three shards']) {
  const name = `cluster ${backend}`;
  lines.push(
    `| ${backend} | ${cell(name, 'publicationsPerSecond')} | ${cell(name, 'deliveriesPerSecond')} | ${ratio(name, 'cluster one Redis', 'publicationsPerSecond')} | ${ratio(name, 'cluster one Redis', 'deliveriesPerSecond')} | ${cell(name, 'nodeCpuMicrosPerPublication', 1)} |`,
  );
}
lines.push(
  '',
  '## Memory',
  '',
  'Server memory per idle connection at 2,000 connections (after a GC), in bytes.',
  '',
);
lines.push(
  '| contender | RSS/connection | heap/connection | RSS ÷ raw ws | RSS ÷ Socket.IO |',
  '|---|---|---|---|---|',
);
for (const contender of CONTENDERS) {
  const name = `memory ${contender}`;
  lines.push(
    `| ${contender} | ${cell(name, 'rssPerConnection')} | ${cell(name, 'heapPerConnection')} | ${ratio(name, 'memory raw-ws', 'rssPerConnection')} | ${ratio(name, 'memory socket.io', 'rssPerConnection')} |`,
  );
}
lines.push(
  '',
  '## Slow consumer',
  '',
  `One subscriber stops reading while ${fmt(SLOW_PUBLICATIONS)} publications of ${fmt(SLOW_BYTES / 1024)} KB go to it and ${SLOW_LIVE} live ones. Switchboard's topic is \`drop-oldest\` (limit 100); the peers have no per-topic policy. What the server still holds once the live ones have everything: JS heap plus buffers after a GC, in MB (Switchboard's includes the memory broker's history of 1,000 publications, about 4 MB, kept for recovery).`,
  '',
);
lines.push(
  '| contender | live deliveries/s | MB held for the paused subscriber | deliveries ÷ Socket.IO | MB ÷ Socket.IO |',
  '|---|---|---|---|---|',
);
for (const contender of CONTENDERS) {
  const name = `slow ${contender}`;
  lines.push(
    `| ${contender} | ${cell(name, 'liveDeliveriesPerSecond')} | ${cell(name, 'heldMegabytes', 1)} | ${ratio(name, 'slow socket.io', 'liveDeliveriesPerSecond')} | ${ratio(name, 'slow socket.io', 'heldMegabytes')} |`,
  );
}
lines.push(
  '',
  '## Flood',
  '',
  `A well-behaved client (one call in flight, the next started by a ${WITNESS_INTERVAL_MS} ms timer: 500–750 per second, under the default rate limit of 1,000) alone for ${FLOOD_SECONDS} s, then for ${FLOOD_SECONDS} s beside a flooder from the same address in its own process: it sends calls unpaced after each handshake and reconnects the moment it is closed or refused. Switchboard with its default limits; raw \`ws\` has none. Latency in ms.`,
  '',
);
lines.push(
  '| contender | p50 alone | p99 alone | p50 beside | p99 beside | p99 beside ÷ alone | witness RT/s beside | server loop delay p99 alone / beside | server CPU alone / beside | flooder connections | upgrades refused | frames sent | RATE_LIMITED received |',
  '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
);
for (const contender of FLOOD_CONTENDERS) {
  const name = `flood ${contender}`;
  const p99Ratio = samples.has(name)
    ? (stat(name, 'besideP99').median / stat(name, 'aloneP99').median).toFixed(2)
    : '–';
  lines.push(
    `| ${contender} | ${cell(name, 'aloneP50', 2)} | ${cell(name, 'aloneP99', 2)} | ${cell(name, 'besideP50', 2)} | ${cell(name, 'besideP99', 2)} | ${p99Ratio} | ${cell(name, 'besideRps')} | ${cell(name, 'aloneLoopP99', 1)} / ${cell(name, 'besideLoopP99', 1)} | ${cell(name, 'aloneCpu', 2)} / ${cell(name, 'besideCpu', 2)} | ${cell(name, 'flooderConnections')} | ${cell(name, 'flooderRefused')} | ${cell(name, 'flooderFrames')} | ${cell(name, 'flooderRateLimited')} |`,
  );
}
lines.push('', '## Wire', '', 'Encoding and decoding one RPC reply in process.', '');
lines.push('| format | encodes/s | decodes/s | bytes/message |', '|---|---|---|---|');
for (const format of ['switchboard.json', 'plain JSON envelope']) {
  const name = `wire ${format}`;
  lines.push(
    `| ${format} | ${cell(name, 'encodePerSecond')} | ${cell(name, 'decodePerSecond')} | ${cell(name, 'bytes')} |`,
  );
}
const table = `${lines.join('\n')}\n`;
writeFileSync(new URL('./results-table.md', import.meta.url), table);
console.log(table);
