import { z } from 'zod';
import type { Principal } from '../../server/auth/authenticator.js';

/**
 * A person in a room, as goval's `User`: `id` and `name` come from the principal, `session` is the
 * session (one per attached channel) they appear through, so one person in two tabs is two entries.
 */
export const User = z.object({
  id: z.number().int(),
  name: z.string(),
  roles: z.array(z.string()),
  session: z.number().int(),
});
export type User = z.infer<typeof User>;

/**
 * The `User` a principal appears as in session `session`: `id` is `attributes.userId` when that is a
 * finite integer (goval's ids are numbers, ours are strings) and 0 otherwise; `name` is
 * `attributes.name`, else the principal's id; `roles` is `attributes.roles`, keeping its strings only.
 *
 * @example userOf({ id: 'u1', permissions: [], attributes: { userId: '7', name: 'Ada' } }, 2)
 * // → { id: 7, name: 'Ada', roles: [], session: 2 }
 */
export function userOf(principal: Principal, session: number): User {
  const attributes = principal.attributes ?? {};
  const id = Number(attributes.userId);
  const roles = attributes.roles;
  return {
    id: Number.isInteger(id) ? id : 0,
    name: String(attributes.name ?? principal.id),
    // Attributes come from whatever the authenticator stored; anything but strings would break the schema.
    roles: Array.isArray(roles) ? roles.filter((role): role is string => typeof role === 'string') : [],
    session,
  };
}
