import { type FrameFields, KEY_NAME_PREFIX, type SnapshotItem } from '../../wire/sandbox-sync/index.js';

/** The role a key gets when none is given (the origin's `RoleTenant`). */
export const ROLE_TENANT = 'tenant';

/** What both ends store about an API key; times are RFC 3339 in UTC, absent when unset. */
export interface KeyMetadata {
  /** The secret name, `agentbox-apikey-<hashPrefix>` (the origin may prefix it with `<ns>/`). */
  readonly keyId: string;
  /** Hex SHA-256 of the raw token. */
  readonly tokenHash: string;
  readonly namespace: string;
  readonly role: string;
  readonly user: string;
  readonly team: string;
  readonly quotaURL?: string;
  readonly description?: string;
  readonly issuedAt?: string;
  readonly expiresAt?: string;
  /** The plaintext token, kept so every Worker can recover it (promote mode). */
  readonly rawToken?: string;
}

/** What a key_create carries: the metadata of the key to make, without its identity. */
export type NewKey = Omit<KeyMetadata, 'keyId' | 'tokenHash'>;

/** `agentbox-apikey-<hashPrefix>`. */
export function keyIdOf(hashPrefix: string): string {
  return KEY_NAME_PREFIX + hashPrefix;
}

/**
 * A key as a key_sync frame or key_snapshot item (the origin's `metaToFrame`): `name` is the short
 * secret name, `hashPrefix` the name without `agentbox-apikey-`, times RFC 3339 UTC. No `type`:
 * snapshot items go out with `"type":""`, as the origin's do.
 */
export function metaToFrame(meta: KeyMetadata): SnapshotItem {
  const name = meta.keyId.slice(meta.keyId.lastIndexOf('/') + 1);
  const fields: FrameFields = {
    tokenHash: meta.tokenHash,
    ...(name.startsWith(KEY_NAME_PREFIX) ? { hashPrefix: name.slice(KEY_NAME_PREFIX.length) } : {}),
    name,
    namespace: meta.namespace,
    role: meta.role,
    user: meta.user,
    team: meta.team,
    quotaURL: meta.quotaURL,
    description: meta.description,
    issuedAt: meta.issuedAt,
    expiresAt: meta.expiresAt,
    rawToken: meta.rawToken,
  };
  return { type: '', ...fields };
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * Parses an RFC 3339 time as Go's `time.Parse(time.RFC3339, …)` accepts it and formats it back in
 * UTC without fractions, as the origin's `Format(time.RFC3339)` after `.UTC()`. Returns undefined
 * for anything else: the origin drops times it cannot parse.
 */
export function normalizeRfc3339(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const match = RFC3339.exec(value);
  if (!match) return undefined;
  const [, year, month, day, hour, minute, second] = match.map(Number) as number[];
  if (month! < 1 || month! > 12 || day! < 1 || day! > daysIn(year!, month!)) return undefined;
  if (hour! > 23 || minute! > 59 || second! > 59) return undefined;
  const ms = Date.parse(value.toUpperCase());
  if (Number.isNaN(ms)) return undefined;
  return formatRfc3339(new Date(ms));
}

/** A time as RFC 3339 in UTC, whole seconds: `2026-11-25T19:51:00Z`. */
export function formatRfc3339(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}
