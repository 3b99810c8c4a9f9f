import { describe, expect, test } from 'vitest';
import { Admission } from '../../src/server/admission.js';
import { DEFAULT_LIMITS, type Limits } from '../../src/server/limits.js';

const admission = (limits: Partial<Limits>) => new Admission({ ...DEFAULT_LIMITS, ...limits });

describe('Admission', () => {
  test('a refused connect attempt costs nothing: the address gets in as soon as a token refills', () => {
    const gate = admission({ connectRatePerAddress: 2 });
    expect([gate.checkUpgrade('a', 0), gate.checkUpgrade('a', 0)]).toEqual([undefined, undefined]);
    const refused = gate.checkUpgrade('a', 0);
    expect(refused).toEqual({
      status: 429,
      body: 'more than 2 new connections per second from this address',
      headers: { 'Retry-After': '1' },
    });
    for (let i = 0; i < 100; i++) gate.checkUpgrade('a', 10);
    expect(gate.checkUpgrade('a', 500)).toBeUndefined(); // one token at 2 per second
    expect(gate.checkUpgrade('b', 500)).toBeUndefined(); // other addresses have their own
  });

  test('every count a ticket holds is given back once, however often it is released', async () => {
    const gate = admission({
      maxConnectionsPerAddress: 1,
      maxPendingHandshakes: 1,
      maxConnectionsPerPrincipal: 1,
    });
    const ticket = gate.accept('a', 0)!;
    expect(gate.accept('a', 0)).toBeUndefined();
    expect(await gate.checkUpgrade('b', 0)).toMatchObject({ status: 503 });
    expect(gate.admitPrincipal(ticket, 'ada', 0)).toBeUndefined();
    gate.welcomed(ticket);
    expect(gate.checkUpgrade('b', 0)).toBeUndefined();
    gate.release(ticket);
    gate.release(ticket);
    const again = gate.accept('a', 0)!;
    expect(gate.admitPrincipal(again, 'ada', 0)).toBeUndefined();
    expect(gate.accept('a', 0)).toBeUndefined();
  });

  test('prune forgets peers with nothing open and a full bucket, and only those', () => {
    const gate = admission({ connectRatePerAddress: 1, maxConnectionsPerAddress: 5 });
    gate.checkUpgrade('idle', 0);
    const open = gate.accept('busy', 0)!;
    gate.prune(5000);
    // 'idle' was forgotten (a fresh bucket), 'busy' still counts its open connection.
    expect(gate.checkUpgrade('idle', 5000)).toBeUndefined();
    expect(gate.accept('busy', 5000)).toBeDefined();
    gate.release(open);
  });
});
