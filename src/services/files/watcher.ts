import { type FSWatcher, watch } from 'node:fs';
import { sep } from 'node:path';
import { RequestError } from '../../protocol/errors.js';
import type { SandboxRoot } from './root.js';
import type { FileEvent, FileType } from './service.js';

/** Paths whose last reported state is remembered, to tell our own changes from others'. */
const MAX_KNOWN = 10_000;

/** What a path looked like when it was last reported: enough to see that a change is not new. */
type Seen =
  | { readonly exists: false }
  | { readonly exists: true; readonly type: FileType; readonly stamp: string };

/**
 * Changes made under the root by anything but the service (an editor, a build, an exec'd
 * program), seen through a recursive `fs.watch` and reported as `fileEvent`s. The service reports
 * its own changes exactly; so that the watcher does not report them a second time, each report
 * remembers the path's state, and a watcher event finding the same state is dropped. External
 * moves are seen as a `remove` and a `create`.
 */
export class RootWatcher {
  private watcher: FSWatcher | undefined;
  private readonly seen = new Map<string, Seen>();
  /** The service's own changes in progress, by the path they touch. */
  private readonly own = new Set<{ readonly path: string; readonly done: Promise<void> }>();

  constructor(
    private readonly root: SandboxRoot,
    private readonly publish: (event: FileEvent) => void,
  ) {}

  /** Starts watching, if not already. */
  start(): void {
    if (this.watcher) return;
    this.watcher = watch(this.root.real, { recursive: true }, (_type, filename) => {
      if (filename === null) return;
      const path = filename.split(sep).join('/');
      void this.changed(path);
    });
    // A watcher that fails (the root removed, too many watches) stops; events made through the
    // service still flow.
    this.watcher.on('error', () => this.stop());
  }

  /** Stops watching (when nobody is subscribed any more). */
  stop(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }

  /**
   * Runs one of the service's own changes to `paths` (and what is under them). Watcher events
   * about them wait until it is done and the resulting states are remembered, so they find
   * nothing new and are dropped: the service reports its changes itself.
   */
  async change<T>(paths: readonly string[], run: () => Promise<T>): Promise<T> {
    let settle!: () => void;
    // Settles once the states are remembered, not merely when the change is done.
    const done = new Promise<void>((resolve) => {
      settle = resolve;
    });
    const entries = paths.map((path) => ({ path, done }));
    for (const entry of entries) this.own.add(entry);
    try {
      return await run();
    } finally {
      for (const path of paths) await this.remember(path);
      for (const entry of entries) this.own.delete(entry);
      settle();
    }
  }

  /** Records the state of a path (and of the directories above it), as the service leaves it. */
  private async remember(path: string): Promise<void> {
    const names = path.split('/');
    for (let i = 1; i <= names.length; i++) {
      const prefix = names.slice(0, i).join('/');
      const state = await this.look(prefix);
      if (state) this.record(prefix, state);
    }
  }

  private async changed(path: string): Promise<void> {
    for (const entry of this.own) {
      if (related(entry.path, path)) await entry.done;
    }
    const now = await this.look(path);
    if (now === undefined) return;
    const before = this.seen.get(path);
    if (before && same(before, now)) return;
    // Under something the service removed or moved away: that was reported as one event.
    if (!now.exists && this.goneAbove(path)) return;
    this.record(path, now);
    if (!now.exists) {
      if (before?.exists === false) return;
      this.publish({ op: 'remove', file: { path, type: before?.exists ? before.type : 'file' } });
      return;
    }
    // A directory's own change events are about its entries, which are reported by name.
    if (before?.exists && now.type === 'directory') return;
    this.publish({ op: before?.exists ? 'modify' : 'create', file: { path, type: now.type } });
  }

  /**
   * The path's state, reached through held descriptors without following any link: `undefined`
   * when it is not in the root's own tree (a component is a symlink, e.g. a directory swapped for
   * one while the recursive watch was adding it), and then nothing is reported.
   */
  private async look(path: string): Promise<Seen | undefined> {
    try {
      const info = await this.root.lookWithin(path.split('/'));
      if (info === undefined) return { exists: false };
      return {
        exists: true,
        type: info.isDirectory() ? 'directory' : 'file',
        stamp: `${info.size}:${info.mtimeMs}:${info.ino}`,
      };
    } catch (error) {
      if (error instanceof RequestError && error.code === 'PATH_OUTSIDE_ROOT') return undefined;
      // Unreadable (EACCES…): reported as gone, as before; the watcher is best effort.
      return { exists: false };
    }
  }

  private record(path: string, state: Seen): void {
    this.seen.delete(path);
    this.seen.set(path, state);
    // Forget the oldest: at worst a change is reported twice.
    if (this.seen.size > MAX_KNOWN) this.seen.delete(this.seen.keys().next().value as string);
  }

  private goneAbove(path: string): boolean {
    const names = path.split('/');
    for (let i = names.length - 1; i > 0; i--) {
      if (this.seen.get(names.slice(0, i).join('/'))?.exists === false) return true;
    }
    return false;
  }
}

/** Whether one path is the other or lies under it. */
function related(a: string, b: string): boolean {
  return a === '.' || b === '.' || a === b || a.startsWith(`${b}/`) || b.startsWith(`${a}/`);
}

function same(a: Seen, b: Seen): boolean {
  if (!a.exists || !b.exists) return a.exists === b.exists;
  return a.type === b.type && a.stamp === b.stamp;
}
