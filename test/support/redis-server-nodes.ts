import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

/**
 * Switchboard server nodes, each in its own process (test/integration/nodes/server-node.ts), on
 * one Redis (`redis://…`) or a Redis Cluster (`cluster:redis://…,redis://…`).
 */
export class ServerNodes {
  private readonly children: ChildProcess[] = [];

  constructor(
    private readonly backend: string,
    private readonly historySize = 20_000,
  ) {}

  /** Starts one node and resolves with its process and port once it listens. */
  async start(): Promise<{ process: ChildProcess; port: number }> {
    const script = new URL('../integration/nodes/server-node.ts', import.meta.url).pathname;
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', script, this.backend, String(this.historySize)],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    this.children.push(child);
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).once('line', resolve);
      child.once('exit', (code) => reject(new Error(`server node exited with ${code}`)));
    });
    return { process: child, port: (JSON.parse(line) as { port: number }).port };
  }

  /** SIGKILLs every node started. */
  killAll(): void {
    for (const child of this.children) child.kill('SIGKILL');
  }
}
