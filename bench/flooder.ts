// A flooder in its own process, so it competes for the CPU as a real one would:
// `node --import tsx bench/flooder.ts <contender> <port>`. It opens a connection, completes the
// handshake, sends calls as fast as the socket takes them without reading the answers' content,
// and reconnects the moment the server closes it or refuses the upgrade. Reports over IPC.
import { WebSocket } from 'ws';
import type { Contender } from './servers.js';

const contender = process.argv[2] as Contender;
const url = `ws://127.0.0.1:${process.argv[3]}`;
const switchboard = contender.startsWith('switchboard');
const BATCH = 500;

const stats = {
  connections: 0,
  refusedUpgrades: {} as Record<string, number>,
  closes: {} as Record<string, number>,
  framesSent: 0,
  messagesReceived: 0,
  rateLimited: 0,
};
const count = (tally: Record<string, number>, key: number) => {
  tally[key] = (tally[key] ?? 0) + 1;
};

let nextId = 1;
const frame = () => {
  const id = nextId++;
  return switchboard
    ? `{"type":"call","id":${id},"command":"rpc.echo","input":{"n":${id}}}`
    : `{"id":${id},"method":"echo","params":{"n":${id}}}`;
};

function connect(): void {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  let flooding = false;
  // As fast as the network takes it: a batch, then the next as soon as the kernel has taken it all.
  const flood = () => {
    if (ws.readyState !== WebSocket.OPEN) return;
    for (let i = 0; i < BATCH; i++) ws.send(frame());
    stats.framesSent += BATCH;
    const tcp = (ws as unknown as { _socket: import('node:net').Socket })._socket;
    if (tcp.writableNeedDrain) tcp.once('drain', flood);
    else setImmediate(flood);
  };
  ws.on('open', () => {
    stats.connections++;
    if (switchboard) ws.send('{"type":"hello","wire":1,"protocol":"bench","version":"1.0.0"}');
    else {
      flooding = true;
      flood();
    }
  });
  ws.on('message', (data) => {
    stats.messagesReceived++;
    if (!flooding) {
      // The welcome: from here on, calls as fast as the socket takes them.
      flooding = true;
      flood();
      return;
    }
    // A substring test, not a parse: the flooder spends its CPU on sending.
    if ((data as Buffer).includes('RATE_LIMITED')) stats.rateLimited++;
  });
  ws.on('unexpected-response', (_request, response) => {
    count(stats.refusedUpgrades, response.statusCode ?? 0);
    response.resume();
    ws.terminate();
  });
  ws.on('error', () => {
    // The close that follows reconnects.
  });
  ws.on('close', (code) => {
    count(stats.closes, code);
    setImmediate(connect);
  });
}

process.on('message', (request: { type: string }) => {
  if (request.type === 'stats') process.send!({ type: 'stats', ...stats });
});
connect();
process.send!({ type: 'ready' });
