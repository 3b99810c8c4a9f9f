import { describe, expect, test } from 'vitest';
import { z } from 'zod';
import { command, defineProtocol, event } from '../../../src/protocol/index.js';
import { hemiCommandNames, hemiName } from '../../../src/wire/hemi/commands.js';
import { bfgProtocol } from './fixtures.js';

describe('Hemi command names', () => {
  test.each([
    ['l2.keystones', 'l2-keystones'],
    ['btc.finalityByRecentKeystones', 'btc-finality-by-recent-keystones'],
    ['btc.newBlock', 'btc-new-block'],
    ['node.ping', 'node-ping'],
    ['pop.txsForL2Block2', 'pop-txs-for-l2-block2'],
    ['v2.getL2BTCFinalities', 'v2-get-l2-btcfinalities'],
  ])('%s → %s', (dotted, name) => {
    expect(hemiName(dotted)).toBe(name);
  });

  test('names requests, responses and notifications under the API prefix', () => {
    const names = hemiCommandNames('bfgapi', bfgProtocol);
    expect(names.requestOf('l2.keystones')).toBe('bfgapi-l2-keystones-request');
    expect(names.responseOf('l2.keystones')).toBe('bfgapi-l2-keystones-response');
    expect(names.notificationOf('btc.newBlock')).toBe('bfgapi-btc-new-block-notification');
    expect(names.commandOf('bfgapi-l2-keystones-request')).toBe('l2.keystones');
    expect(names.commandOf('bfgapi-l2-keystones-response')).toBeUndefined();
    expect(names.requestOf('nope.x')).toBeUndefined();
    expect(names.pingRequest).toBe('bfgapi-ping-request');
    expect(names.pingResponse).toBe('bfgapi-ping-response');
    expect(names.pingCommand).toBeUndefined();
  });

  test('an override names a command exactly', () => {
    const names = hemiCommandNames('tbcapi', bfgProtocol, { 'l2.keystones': 'block-headers-best' });
    expect(names.requestOf('l2.keystones')).toBe('tbcapi-block-headers-best-request');
    expect(names.commandOf('tbcapi-block-headers-best-request')).toBe('l2.keystones');
  });

  test('two commands with one Hemi name are refused when the wire is made', () => {
    const clash = defineProtocol({
      name: 'x',
      version: '1.0.0',
      resources: {
        a: { commands: { bC: command({ input: z.null(), output: z.null() }) } },
        aB: { commands: { c: command({ input: z.null(), output: z.null() }) } },
      },
    });
    expect(() => hemiCommandNames('xapi', clash)).toThrow(
      'commands "a.bC" and "aB.c" are both named xapi-a-b-c-request on the Hemi wire',
    );
  });

  test('two events with one Hemi name are refused', () => {
    const clash = defineProtocol({
      name: 'x',
      version: '1.0.0',
      resources: { a: { events: { b: event(z.null()), c: event(z.null()) } } },
    });
    expect(() => hemiCommandNames('xapi', clash, { 'a.c': 'a-b' })).toThrow(
      'events "a.b" and "a.c" are both named xapi-a-b-notification on the Hemi wire',
    );
  });

  test('an API prefix must be lowercase letters, digits and dashes', () => {
    expect(() => hemiCommandNames('BFG api', bfgProtocol)).toThrow('Hemi API prefix "BFG api"');
  });
});
