import { z } from 'zod';
import { command, defineProtocol, error, event, stream } from '../../../src/protocol/index.js';

/** A small BFG-like protocol: Hemi-style names, a declared request error, an internal fault, a notification. */
export const bfgProtocol = defineProtocol({
  name: 'bfg',
  version: '1.0.0',
  resources: {
    l2: {
      commands: {
        keystones: command({
          input: z.object({ numL2Keystones: z.number().int().min(0) }),
          output: z.object({ l2Keystones: z.array(z.object({ hash: z.string() })) }),
        }),
        crash: command({ input: z.null(), output: z.null() }),
        hang: command({ input: z.null(), output: z.null() }),
      },
    },
    btc: {
      commands: {
        finalityByRecentKeystones: command({
          input: z.object({ numRecentKeystones: z.number().int() }),
          output: z.object({ finalities: z.array(z.number()) }),
          permission: 'btc:read',
        }),
      },
      events: {
        newBlock: event(z.object({ height: z.number() })),
      },
    },
    logs: {
      commands: {
        tail: stream({
          input: z.object({ count: z.number().int().min(0) }),
          item: z.object({ line: z.string() }),
        }),
      },
    },
  },
  errors: {
    NOT_FOUND: error('not found'),
  },
});

/** The same protocol with a command answering `<api>-ping-request`, so pings keep their id. */
export const bfgWithPing = defineProtocol({
  name: 'bfg',
  version: '1.0.0',
  resources: {
    ...bfgProtocol.definition.resources,
    node: {
      commands: {
        ping: command({
          input: z.object({ timestamp: z.number().int() }),
          output: z.object({ origintimestamp: z.number().int(), timestamp: z.number().int() }),
        }),
      },
    },
  },
  errors: bfgProtocol.definition.errors,
});

/** 2023-11-14T22:13:20Z, a fixed clock for golden frames. */
export const NOW_MS = 1_700_000_000_000;
export const NOW_S = 1_700_000_000;
