import { z } from 'zod';
import type { Principal } from '../../server/auth/authenticator.js';

/** goval's user ids are uint32. */
const MAX_USER_ID = 0xffff_ffff;

/**
 * A person in a room, as goval's `User`: `id` and `name` come from the principal, `session` is the
 * session (one per attached channel) they appear through, so one person in two tabs is two entries.
 */
export const User = z.object({
  /** goval's `uint32 id`; 0 when the principal has none. */
  id: z.number().int().min(0).max(MAX_USER_ID),
  name: z.string(),
  roles: z.array(z.string()),
  session: z.number().int(),
});
export type User = z.infer<typeof User>;

/**
 * The `User` a principal appears as in session `session`: `id` is `Number(attributes.userId)` when
 * that is an integer a uint32 holds (goval's ids are numbers, ours are strings) and 0 otherwise; `name` is
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
    // Out of uint32 range, goval's wire could not carry the user at all.
    id: Number.isInteger(id) && id >= 0 && id <= MAX_USER_ID ? id : 0,
    name: String(attributes.name ?? principal.id),
    // Attributes come from whatever the authenticator stored; anything but strings would break the schema.
    roles: Array.isArray(roles) ? roles.filter((role): role is string => typeof role === 'string') : [],
    session,
  };
}
