// The protocol Switchboard serves in the benchmarks: an echo command and a broadcast topic.
import { command, defineProtocol, topic } from 'switchboard/protocol';
import { z } from 'zod';

export const benchProtocol = defineProtocol({
  name: 'bench',
  version: '1.0.0',
  resources: {
    rpc: {
      commands: {
        echo: command({ input: z.object({ n: z.number() }), output: z.object({ n: z.number() }) }),
      },
    },
    feed: {
      topics: {
        ticks: topic({ pattern: 'feed.ticks', payload: z.object({ seq: z.number(), data: z.string() }) }),
        // The same feed for the slow-consumer workload: a reader that falls behind keeps the newest 100.
        recent: topic({
          pattern: 'feed.recent',
          payload: z.object({ seq: z.number(), data: z.string() }),
          backpressure: { policy: 'drop-oldest', limit: 100 },
        }),
      },
    },
  },
});
