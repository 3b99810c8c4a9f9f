import type { FrameType } from './frame-types.js';

/**
 * The fields a sync frame may carry besides `type`: one flat envelope for every direction, as the
 * origin's Go `Frame` struct. Every field is `omitempty` there, so an absent field and its zero
 * value (`""`, `false`, `0`, an empty list) mean the same; the codec leaves zero values out.
 */
export interface FrameFields {
  /** Correlates a request with its response: a UUID v4 chosen by the Worker, echoed back. */
  readonly id?: string;
  // API key metadata (key_sync, key_snapshot items, key_create).
  readonly tokenHash?: string;
  readonly hashPrefix?: string;
  /** The secret name (`agentbox-apikey-<hashPrefix>`) of a key, or a template's name on deletes. */
  readonly name?: string;
  readonly namespace?: string;
  readonly role?: string;
  readonly user?: string;
  readonly team?: string;
  readonly quotaURL?: string;
  readonly description?: string;
  /** RFC 3339. */
  readonly issuedAt?: string;
  /** RFC 3339. */
  readonly expiresAt?: string;
  /** The batch of a key_snapshot or template_snapshot. */
  readonly items?: readonly SnapshotItem[];
  // Response fields (ws-proxy → Worker).
  readonly ok?: boolean;
  readonly rawToken?: string;
  readonly keyId?: string;
  readonly error?: string;
  /** The HTTP status the Worker answers its own caller with when `ok` is false. */
  readonly httpStatus?: number;
  /** A whole SandboxTemplate object (metadata + spec), as JSON. Opaque to the wire. */
  readonly templateFull?: unknown;
  /** A whole ClusterConfig (`clusters`, `hostAliases`...), as JSON. Opaque to the wire. */
  readonly configSnapshot?: unknown;
}

/** One sync message: a JSON object in one WebSocket text message. */
export interface Frame extends FrameFields {
  readonly type: FrameType;
}

/**
 * An entry of `items`. The origin builds key_snapshot items without a type, and Go writes the
 * empty string for it (`type` is the one field without `omitempty`); template_snapshot items carry
 * `template_sync`. So an item's type is any string, `""` included.
 */
export interface SnapshotItem extends FrameFields {
  readonly type: FrameType | '';
}

/**
 * The JSON keys in the order Go writes them (the struct's field order), `type` after `id`.
 * The codec writes them in this order so its output is byte-for-byte what the origin sends.
 */
export const FIELD_ORDER = [
  'id',
  'type',
  'tokenHash',
  'hashPrefix',
  'name',
  'namespace',
  'role',
  'user',
  'team',
  'quotaURL',
  'description',
  'issuedAt',
  'expiresAt',
  'items',
  'ok',
  'rawToken',
  'keyId',
  'error',
  'httpStatus',
  'templateFull',
  'configSnapshot',
] as const;

/** The string fields of a frame. */
export const STRING_FIELDS = [
  'id',
  'tokenHash',
  'hashPrefix',
  'name',
  'namespace',
  'role',
  'user',
  'team',
  'quotaURL',
  'description',
  'issuedAt',
  'expiresAt',
  'rawToken',
  'keyId',
  'error',
] as const;

/** The prefix of an API key's secret name; the rest is its hash prefix. */
export const KEY_NAME_PREFIX = 'agentbox-apikey-';
