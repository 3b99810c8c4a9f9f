import type { Broker } from '../broker/broker.js';
import { MemoryBroker } from '../broker/memory.js';
import { type Client, type ClientOptions, createClient } from '../client/client.js';
import type { Protocol } from '../protocol/define.js';
import { anonymous } from '../server/auth/anonymous.js';
import type { Handlers } from '../server/handlers.js';
import { silentLogger } from '../server/logger.js';
import { createServer, type Server, type ServerOptions } from '../server/server.js';
import { TestClock } from './clock.js';
import { FaultyBroker } from './faulty-broker.js';
import { FaultyNetwork } from './faulty-network.js';

export interface TestKitOptions<P extends Protocol<any>> {
  readonly protocol: P;
  readonly handlers: Handlers<P>;
  /** Server nodes, by name. Default `['a']`. */
  readonly nodes?: readonly string[];
  /** The broker all nodes share (each through its own FaultyBroker). Default a new MemoryBroker. */
  readonly broker?: Broker;
  /** Install a TestClock first, so timers follow `kit.clock.advance()`. Default false. */
  readonly clock?: boolean;
  /** Anything else for every node's `createServer` (auth defaults to `anonymous(['*'])`). */
  readonly server?: Partial<Omit<ServerOptions<P>, 'protocol' | 'handlers' | 'transport' | 'broker'>>;
}

/** One server node of a test kit. */
export interface TestNode<P extends Protocol<any>> {
  readonly name: string;
  server: Server<P>;
  /** This node's view of the shared broker: `partition()` / `heal()` it. */
  broker: FaultyBroker;
  alive: boolean;
}

/**
 * An in-memory cluster for testing a Switchboard protocol and its handlers: server nodes on one
 * shared broker, clients that fail over between nodes, scripted network faults, broker partitions,
 * node kills and restarts, a broker restart, and (optionally) a controllable clock. Pair it with
 * `assertDelivery` to check that nothing was lost, nothing came twice and order was kept.
 *
 * @example
 * const kit = await createTestKit({ protocol, handlers, nodes: ['a', 'b'] });
 * const client = kit.client({ node: 'a' });
 * await kit.kill('a'); // the client reconnects to b and resumes its subscriptions
 * await kit.close();
 */
export class TestKit<P extends Protocol<any>> {
  readonly network = new FaultyNetwork();
  readonly nodes = new Map<string, TestNode<P>>();
  private readonly clients: Client<P>[] = [];

  private constructor(
    private readonly options: TestKitOptions<P>,
    /** The broker every node shares. */
    readonly broker: Broker,
    readonly clock: TestClock | undefined,
  ) {}

  static async create<P extends Protocol<any>>(options: TestKitOptions<P>): Promise<TestKit<P>> {
    const clock = options.clock ? TestClock.install() : undefined;
    const kit = new TestKit(options, options.broker ?? new MemoryBroker(), clock);
    for (const name of options.nodes ?? ['a']) await kit.start(name);
    return kit;
  }

  /** The node's server. */
  server(name = this.firstNode()): Server<P> {
    return this.node(name).server;
  }

  node(name: string): TestNode<P> {
    const node = this.nodes.get(name);
    if (!node) throw new Error(`no node "${name}" in this test kit`);
    return node;
  }

  /**
   * A client that connects to `node` (default the first), and on reconnect to the first node still
   * alive, as a load balancer would. Reconnects after 1 ms unless told otherwise.
   */
  client(options: Partial<ClientOptions<P>> & { readonly node?: string } = {}): Client<P> {
    const { node: preferred = this.firstNode(), ...rest } = options;
    const client = createClient<P>({
      protocol: this.options.protocol,
      url: () => {
        const alive = this.nodes.get(preferred)?.alive
          ? preferred
          : ([...this.nodes.values()].find((node) => node.alive)?.name ?? preferred);
        return `memory://${alive}/`;
      },
      connect: this.network.connect,
      reconnect: { initialDelayMs: 1, maxDelayMs: 50 },
      ...rest,
    } as ClientOptions<P>);
    this.clients.push(client);
    return client;
  }

  /** Cuts the node off its broker: publishes there fail, its subscribers hear nothing new. */
  partition(name: string): void {
    this.node(name).broker.partition();
  }

  /** Reconnects the node to its broker; its subscribers catch up from history. */
  heal(name: string): Promise<void> {
    return this.node(name).broker.heal();
  }

  /** Kills a node: every connection to it drops at once (1006) and it accepts no more. */
  async kill(name: string): Promise<void> {
    const node = this.node(name);
    if (!node.alive) return;
    node.alive = false;
    this.network.cutNode(name);
    await node.server.close({ graceMs: 0 });
    await node.broker.close();
  }

  /** Starts a killed node again (a new server process on the same shared broker). */
  async restart(name: string): Promise<void> {
    if (this.nodes.get(name)?.alive) throw new Error(`node "${name}" is running`);
    await this.start(name);
  }

  /**
   * Restarts the shared broker, losing its history (a Redis without persistence): subscribers see a
   * new epoch and an `epoch` gap. Only the in-memory broker can be restarted from a test.
   */
  restartBroker(): void {
    if (!(this.broker instanceof MemoryBroker))
      throw new Error('only a MemoryBroker can be restarted by the test kit');
    this.broker.restart();
  }

  async close(): Promise<void> {
    for (const client of this.clients.splice(0)) client.close();
    for (const node of this.nodes.values()) {
      if (!node.alive) continue;
      node.alive = false;
      await node.server.close({ graceMs: 0 });
      await node.broker.close();
    }
    this.clock?.uninstall();
  }

  private firstNode(): string {
    return this.options.nodes?.[0] ?? 'a';
  }

  private async start(name: string): Promise<void> {
    const broker = new FaultyBroker(this.broker);
    const server = await createServer<P>({
      auth: anonymous(['*']),
      logger: silentLogger,
      ...this.options.server,
      protocol: this.options.protocol,
      handlers: this.options.handlers,
      transport: this.network.node(name),
      broker,
    } as ServerOptions<P>);
    this.nodes.set(name, { name, server, broker, alive: true });
  }
}

/** Shorthand for {@link TestKit.create}. */
export function createTestKit<P extends Protocol<any>>(options: TestKitOptions<P>): Promise<TestKit<P>> {
  return TestKit.create(options);
}
