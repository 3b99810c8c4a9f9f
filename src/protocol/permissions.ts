/**
 * Permissions are `resource:action` strings as in the fetch_ml seed (`jobs:create`, `datasets:read`).
 * A grant matches exactly, or by wildcard: `jobs:*` grants every jobs action, `*` grants everything.
 */
export function isGranted(granted: readonly string[], required: string): boolean {
  for (const grant of granted) {
    if (grant === required || grant === '*') return true;
    if (grant.endsWith(':*') && required.startsWith(grant.slice(0, -1))) return true;
  }
  return false;
}

/** The first of `required` that `granted` does not cover, or undefined when all are covered. */
export function firstMissing(granted: readonly string[], required: readonly string[]): string | undefined {
  return required.find((permission) => !isGranted(granted, permission));
}

/** A definition's `permission` (one, several or none) as a list. */
export function normalisePermissions(permission: string | readonly string[] | undefined): readonly string[] {
  return permission === undefined ? [] : typeof permission === 'string' ? [permission] : [...permission];
}
