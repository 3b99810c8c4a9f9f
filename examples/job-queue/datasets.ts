import type { Dataset } from './protocol.js';

/** Registered datasets by name. */
export class DatasetCatalog {
  private readonly datasets = new Map<string, Dataset>();

  /** Undefined when the name is taken. */
  register(name: string, url: string, registeredBy: string): Dataset | undefined {
    if (this.datasets.has(name)) return undefined;
    const dataset = { name, url, registeredBy, registeredAt: Date.now() };
    this.datasets.set(name, dataset);
    return dataset;
  }

  list(): Dataset[] {
    return [...this.datasets.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  info(name: string): Dataset | undefined {
    return this.datasets.get(name);
  }

  /** Case-insensitive match on name or URL. */
  search(term: string): Dataset[] {
    const needle = term.toLowerCase();
    return this.list().filter(
      (d) => d.name.toLowerCase().includes(needle) || d.url.toLowerCase().includes(needle),
    );
  }
}
