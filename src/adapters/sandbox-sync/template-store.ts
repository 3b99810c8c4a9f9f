import { SyncedCollection } from '../../client/synced-collection.js';

type MaybePromise<T> = T | Promise<T>;

/** A SandboxTemplate as Kubernetes serialises it: `metadata` (name, labels...) and `spec`. Opaque otherwise. */
export interface SandboxTemplate {
  readonly metadata?: {
    readonly name?: string;
    readonly labels?: Readonly<Record<string, string>>;
    readonly annotations?: Readonly<Record<string, string>>;
    readonly [field: string]: unknown;
  };
  readonly spec?: unknown;
  readonly [field: string]: unknown;
}

/** The label that marks a template as owned by the ws-proxy (`global`) rather than the Worker. */
export const SYNC_SOURCE_LABEL = 'agentbox.io/sync-source';
/** The value of `SYNC_SOURCE_LABEL` on templates the ws-proxy distributes. */
export const SYNC_SOURCE_GLOBAL = 'global';

/** Where a Worker keeps the templates the ws-proxy pushes. */
export interface WorkerTemplateStore {
  createOrUpdate(template: SandboxTemplate): MaybePromise<void>;
  /** Resolves false when there was no such template. */
  delete(name: string): MaybePromise<boolean>;
  /**
   * After a template_snapshot: templates labelled global that the snapshot no longer lists lose the
   * label, so the Worker stops treating them as the ws-proxy's and does not forward their deletes
   * there only to get a 404 (they are not deleted).
   */
  stripStaleGlobalLabels(knownNames: ReadonlySet<string>): MaybePromise<void>;
}

/** Where the ws-proxy keeps the master copy of every template. `create`/`update` throw on conflict/absence. */
export interface ProxyTemplateStore {
  list(): MaybePromise<readonly SandboxTemplate[]>;
  get(name: string): MaybePromise<SandboxTemplate | undefined>;
  create(template: SandboxTemplate): MaybePromise<void>;
  update(template: SandboxTemplate): MaybePromise<void>;
  delete(name: string): MaybePromise<boolean>;
}

/** The name of a template, `""` when it has none. */
export function templateName(template: SandboxTemplate): string {
  const name = template.metadata?.name;
  return typeof name === 'string' ? name : '';
}

/** Templates in memory, for either end, in a `SyncedCollection` keyed by name. */
export class MemoryTemplateStore implements WorkerTemplateStore, ProxyTemplateStore {
  readonly templates = new SyncedCollection<SandboxTemplate>();

  createOrUpdate(template: SandboxTemplate): void {
    const name = templateName(template);
    if (!name) throw new Error('template has no metadata.name');
    this.templates.apply({ op: 'upsert', key: name, value: template });
  }

  delete(name: string): boolean {
    if (!this.templates.items.has(name)) return false;
    this.templates.apply({ op: 'delete', key: name });
    return true;
  }

  stripStaleGlobalLabels(knownNames: ReadonlySet<string>): void {
    for (const [name, template] of this.templates.items) {
      const labels = template.metadata?.labels;
      if (knownNames.has(name) || labels?.[SYNC_SOURCE_LABEL] !== SYNC_SOURCE_GLOBAL) continue;
      const { [SYNC_SOURCE_LABEL]: _stale, ...rest } = labels;
      this.templates.apply({
        op: 'upsert',
        key: name,
        value: { ...template, metadata: { ...template.metadata, labels: rest } },
      });
    }
  }

  list(): SandboxTemplate[] {
    return [...this.templates.items.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, t]) => t);
  }

  get(name: string): SandboxTemplate | undefined {
    return this.templates.items.get(name);
  }

  create(template: SandboxTemplate): void {
    const name = templateName(template);
    if (!name) throw new Error('template has no metadata.name');
    if (this.templates.items.has(name)) throw new Error(`template ${name} already exists`);
    this.templates.apply({ op: 'upsert', key: name, value: template });
  }

  update(template: SandboxTemplate): void {
    const name = templateName(template);
    if (!this.templates.items.has(name)) throw new Error(`template ${name} not found`);
    this.templates.apply({ op: 'upsert', key: name, value: template });
  }
}
