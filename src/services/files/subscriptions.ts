import type { ServiceInstance } from '../../server/service-types.js';
import type { FileEvent, FilesService } from './service.js';

/**
 * Who watches what, across every instance of one `files()` server: a change made through one
 * channel reaches the sessions of every channel on the same root that subscribed to a path at or
 * above it. A session's subscription is a set of normalised client paths (`.` is the whole root).
 */
export class FileSubscriptions {
  private readonly byInstance = new Map<ServiceInstance<FilesService>, Map<number, readonly string[]>>();

  /** Replaces a session's watched paths; an empty list unsubscribes it. */
  set(instance: ServiceInstance<FilesService>, session: number, paths: readonly string[]): void {
    let sessions = this.byInstance.get(instance);
    if (!sessions) {
      sessions = new Map();
      this.byInstance.set(instance, sessions);
    }
    if (paths.length === 0) sessions.delete(session);
    else sessions.set(session, [...new Set(paths)]);
  }

  /** Forgets a session that left. */
  forgetSession(instance: ServiceInstance<FilesService>, session: number): void {
    this.byInstance.get(instance)?.delete(session);
  }

  /** Forgets an instance that was disposed. */
  forgetInstance(instance: ServiceInstance<FilesService>): void {
    this.byInstance.delete(instance);
  }

  /** Whether anyone watches anything (the file-system watcher runs only then). */
  get empty(): boolean {
    for (const sessions of this.byInstance.values()) if (sessions.size > 0) return false;
    return true;
  }

  /** Sends an event to each session watching its path (or, for a move, its destination), once. */
  publish(event: FileEvent): void {
    for (const [instance, sessions] of this.byInstance) {
      for (const [session, paths] of sessions) {
        const watched = paths.some(
          (path) =>
            covers(path, event.file.path) || (event.dest !== undefined && covers(path, event.dest.path)),
        );
        if (watched) instance.emit('fileEvent', event, { only: session });
      }
    }
  }
}

/** Whether a watched path covers a changed one: it is the path, or a directory above it. */
export function covers(watched: string, changed: string): boolean {
  return watched === '.' || watched === changed || changed.startsWith(`${watched}/`);
}
