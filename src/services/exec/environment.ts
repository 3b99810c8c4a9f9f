/**
 * What every process starts with, before the server's `env` and the variables a caller may set.
 * Nothing of the server's own environment (its secrets) is passed on. `HOME` names a directory
 * that does not exist (Debian's convention for users without one), so programs find no start-up
 * files there, rather than the server user's own home.
 */
export const MINIMAL_ENV: Readonly<Record<string, string>> = {
  PATH: '/usr/local/bin:/usr/bin:/bin',
  LANG: 'C.UTF-8',
  HOME: '/nonexistent',
};

/**
 * The variables a caller may set, from the server's `allowEnv`: exact names, and prefixes written
 * with a trailing `*` (`APP_*`). Everything else a caller sends is refused.
 */
export class EnvAllowList {
  private readonly names = new Set<string>();
  private readonly prefixes: string[] = [];

  constructor(entries: readonly string[]) {
    for (const entry of entries) {
      const name = entry.endsWith('*') ? entry.slice(0, -1) : entry;
      // A bare `*` would let callers set anything, which is the hole this list closes.
      if (name === '' || /[=\0*]/.test(name))
        throw new TypeError(`exec: allowEnv entry ${JSON.stringify(entry)} is not a name or a NAME_* prefix`);
      if (entry.endsWith('*')) this.prefixes.push(name);
      else this.names.add(name);
    }
  }

  /** Whether a caller may set `name`. */
  allows(name: string): boolean {
    return this.names.has(name) || this.prefixes.some((prefix) => name.startsWith(prefix));
  }
}
