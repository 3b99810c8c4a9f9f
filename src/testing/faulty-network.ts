import { type MemoryTransport, memoryTransport } from '../transport/memory.js';
import type {
  Connector,
  ServerTransport,
  Socket,
  SocketListener,
  UpgradeRequest,
} from '../transport/socket.js';
import type { Frame } from '../wire/format.js';

/** Which way a frame travels. */
export type Direction = 'to-server' | 'to-client';

/** A scripted fault: what happens to frames going `direction` that `match` (all, by default). */
export interface FaultRule {
  readonly direction: Direction;
  /** The frame as text (binary frames as hex). Default: every frame. */
  readonly match?: (frame: string, link: Link) => boolean;
  /** Drop it, or deliver it `delayMs` later (on the test clock if one is installed). */
  readonly action: 'drop' | { readonly delayMs: number };
  /** Applies to this many frames, then the rule is spent. Default: until removed. */
  readonly times?: number;
}

/** One client–server connection through the faulty network. */
export interface Link {
  readonly id: number;
  /** The node (server) it reached. */
  readonly node: string;
  readonly url: string;
  /** Frames dropped on this link so far, both ways. */
  dropped: number;
  /** Cuts it like a network failure: both ends see 1006, nothing in flight arrives. */
  cut(): void;
  readonly open: boolean;
}

/**
 * In-memory connections between clients and one or more server nodes, with scripted faults: drop or
 * delay matching frames, cut a link, cut every link of a node. Clients connect with
 * `memory://<node>/<path>` URLs.
 *
 * @example
 * const network = new FaultyNetwork();
 * const server = await createServer({ protocol, handlers, transport: network.node('a') });
 * const client = createClient({ protocol, url: 'memory://a/', connect: network.connect });
 * network.fault({ direction: 'to-client', match: (f) => f.includes('"publication"'), action: 'drop', times: 1 });
 */
export class FaultyNetwork {
  private readonly nodes = new Map<string, { transport: MemoryTransport; links: Set<LinkState> }>();
  private readonly rules = new Set<{ rule: FaultRule; left: number }>();
  private nextId = 1;
  /** Every link made so far, newest last. */
  readonly links: Link[] = [];

  /** The server transport of node `name` (create the server with it). */
  node(name: string): ServerTransport {
    const entry = this.entry(name);
    const network = this;
    return {
      start(accept, verifyUpgrade) {
        return entry.transport.server.start(
          (socket, request) => accept(network.wrapServerEnd(name, socket, request), request),
          verifyUpgrade,
        );
      },
      stop() {
        return entry.transport.server.stop();
      },
    };
  }

  /** The client connector: `memory://<node>/<path?query>` reaches that node. */
  readonly connect: Connector = (url: string) => {
    const parsed = new URL(url);
    const entry = this.entry(parsed.host);
    const inner = entry.transport.connect(`${parsed.pathname}${parsed.search}`);
    const link: LinkState = {
      id: this.nextId++,
      node: parsed.host,
      url,
      dropped: 0,
      open: true,
      client: inner,
      server: undefined,
      cut: () => {
        if (!link.open) return;
        link.open = false;
        // terminate() on one end delivers 1006 to both, dropping what is in flight.
        inner.terminate();
      },
    };
    entry.links.add(link);
    this.links.push(link);
    this.pendingLinks.push(link);
    return this.wrap(inner, link, 'to-server', () => {
      entry.links.delete(link);
      // Refused before the node accepted it: it will never be paired with a server end.
      const pending = this.pendingLinks.indexOf(link);
      if (pending >= 0) this.pendingLinks.splice(pending, 1);
    });
  };

  /** Adds a fault; returns a function that removes it. */
  fault(rule: FaultRule): () => void {
    const entry = { rule, left: rule.times ?? Number.POSITIVE_INFINITY };
    this.rules.add(entry);
    return () => this.rules.delete(entry);
  }

  /** Removes every fault. */
  heal(): void {
    this.rules.clear();
  }

  /** Cuts every open link of a node (as when its machine drops off the network). */
  cutNode(name: string): void {
    for (const link of [...(this.nodes.get(name)?.links ?? [])]) link.cut();
  }

  /** Links whose server end is not yet known (connect runs before the node accepts). */
  private readonly pendingLinks: LinkState[] = [];

  private entry(name: string) {
    let entry = this.nodes.get(name);
    if (!entry) {
      entry = { transport: memoryTransport(), links: new Set() };
      this.nodes.set(name, entry);
    }
    return entry;
  }

  private wrapServerEnd(node: string, socket: Socket, _request: UpgradeRequest): Socket {
    const index = this.pendingLinks.findIndex((link) => link.node === node);
    const link = index >= 0 ? this.pendingLinks.splice(index, 1)[0]! : undefined;
    if (!link) return socket;
    link.server = socket;
    return this.wrap(socket, link, 'to-client', () => {});
  }

  /** A socket whose outgoing frames pass the fault rules for `direction`. */
  private wrap(inner: Socket, link: LinkState, direction: Direction, onClose: () => void): Socket {
    const network = this;
    return {
      send(frame: Frame) {
        if (!link.open) return;
        const rule = network.ruleFor(direction, frame, link);
        if (!rule) return inner.send(frame);
        if (rule.action === 'drop') {
          link.dropped++;
          return;
        }
        setTimeout(() => link.open && inner.send(frame), rule.action.delayMs);
      },
      close: (code, reason) => inner.close(code, reason),
      terminate: () => {
        link.open = false;
        inner.terminate();
      },
      ping: () => inner.ping?.(),
      get bufferedAmount() {
        return inner.bufferedAmount;
      },
      listen(listener: SocketListener) {
        inner.listen({
          ...listener,
          close(code, reason) {
            link.open = false;
            onClose();
            listener.close(code, reason);
          },
        });
      },
    };
  }

  private ruleFor(direction: Direction, frame: Frame, link: Link): FaultRule | undefined {
    for (const entry of this.rules) {
      const { rule } = entry;
      if (rule.direction !== direction || entry.left <= 0) continue;
      const text = typeof frame === 'string' ? frame : Buffer.from(frame).toString('hex');
      if (rule.match && !rule.match(text, link)) continue;
      if (--entry.left <= 0) this.rules.delete(entry);
      return rule;
    }
    return undefined;
  }
}

interface LinkState extends Link {
  dropped: number;
  open: boolean;
  readonly client: Socket;
  server: Socket | undefined;
}
