/**
 * A server under attack, in its own process: `node --import tsx --conditions=source --expose-gc
 * test/adversarial/servers/<wire>.ts`. It prints its ports on stdout; the test asks it for its heap
 * after a GC and for other facts over IPC (see child.ts). A crash shows as `exited`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Answer } from './child.js';

const REPOSITORY = fileURLToPath(new URL('../../../', import.meta.url));

export class ServerProcess {
  /** Exit code or signal, once the process ended. */
  exited: string | undefined;
  stderr = '';
  readonly events: unknown[] = [];
  private readonly eventListeners = new Set<(event: unknown) => void>();
  private nextId = 1;
  private readonly pending = new Map<number, (answer: Answer) => void>();

  private constructor(
    private readonly child: ChildProcess,
    readonly ports: Record<string, number>,
  ) {
    child.on('message', (message: Answer | { event: unknown }) => {
      if ('event' in message) {
        this.events.push(message.event);
        for (const listener of this.eventListeners) listener(message.event);
        return;
      }
      this.pending.get(message.id)?.(message);
      this.pending.delete(message.id);
    });
  }

  /** Starts `servers/<name>.ts` and resolves once it printed its ports. */
  static start(name: string, args: string[] = []): Promise<ServerProcess> {
    const script = fileURLToPath(new URL(`../servers/${name}.ts`, import.meta.url));
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--conditions=source', '--expose-gc', script, ...args],
      { cwd: REPOSITORY, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] },
    );
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    return new Promise((resolve, reject) => {
      let stdout = '';
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`server ${name} printed no ports within 15 s: ${stderr}`));
      }, 15_000);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`server ${name} exited (${code ?? signal}) before listening: ${stderr}`));
      });
      child.stdout?.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        const line = stdout.split('\n').find((l) => l.startsWith('{"ports"'));
        if (!line) return;
        clearTimeout(timer);
        child.removeAllListeners('exit');
        const server = new ServerProcess(
          child,
          (JSON.parse(line) as { ports: Record<string, number> }).ports,
        );
        child.stderr?.on('data', (more: Buffer) => {
          server.stderr += more.toString();
        });
        server.stderr = stderr;
        child.on('exit', (code, signal) => {
          server.exited = String(code ?? signal);
          for (const settle of server.pending.values()) settle({ id: 0, ok: false, error: 'exited' });
        });
        resolve(server);
      });
    });
  }

  get alive(): boolean {
    return this.exited === undefined;
  }

  get pid(): number {
    return this.child.pid as number;
  }

  /** Asks the child something over IPC (see child.ts); fails after `timeoutMs`. */
  ask<T>(kind: string, data?: unknown, timeoutMs = 10_000): Promise<T> {
    if (!this.alive) return Promise.reject(new Error(`the server exited (${this.exited}): ${this.stderr}`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`no answer to ${kind} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, (answer) => {
        clearTimeout(timer);
        if (answer.ok) resolve(answer.value as T);
        else reject(new Error(`${kind} failed: ${answer.error}`));
      });
      this.child.send({ id, kind, data });
    });
  }

  /** `process.memoryUsage()` of the server after garbage collection. */
  heap(): Promise<NodeJS.MemoryUsage> {
    return this.ask<NodeJS.MemoryUsage>('heap');
  }

  /** Calls `listener` with each event the child tells; returns a function that stops it. */
  onEvent(listener: (event: unknown) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  /** Ends the process (SIGKILL if it ignores SIGTERM for 3 s). */
  async stop(): Promise<void> {
    if (!this.alive) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  }
}
