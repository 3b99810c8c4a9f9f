import { crc32 } from './crc32.js';
import { OtError } from './errors.js';
import { OT_DEFAULTS } from './limits.js';
import { apply, checkOps, codePointLength, type Op, type Ops, transform } from './ops.js';

/** One applied edit: the version it produced, its ops as applied, the crc32 of the result. */
export interface Packet {
  readonly version: number;
  readonly ops: Op[];
  readonly crc32: number;
}

/** A kept packet and the length (code points) of the text it applied to, for checking stale ones. */
interface KeptPacket extends Packet {
  readonly baseLength: number;
}

/** How a document starts and how much history it keeps. */
export interface OtDocumentOptions {
  /** The text at version 0. Default empty. */
  readonly contents?: string;
  /** The version it starts at (a document reloaded from storage). Default 0. */
  readonly version?: number;
  /**
   * How many packets are kept for `fetch` and for transforming stale packets; a packet based on an
   * older version is refused with OT_VERSION_TOO_OLD. Default 1000.
   */
  readonly maxHistory?: number;
}

/**
 * The server's copy of a collaboratively edited text (goval's OT document). `version` counts the
 * packets applied; a packet based on an older version is transformed against every packet after it
 * (in commit order), so all editors converge whatever order their edits crossed in.
 *
 * @example
 * const doc = new OtDocument({ contents: 'hello' });
 * doc.apply(0, [{ skip: 5 }, { insert: '!' }]); // → { version: 1, ops: [{ skip: 5 }, { insert: '!' }], crc32: … }
 * doc.apply(0, [{ insert: '> ' }]);             // based on 0: → { version: 2, ops: [{ insert: '> ' }], … }
 * doc.contents;                                 // → '> hello!'
 */
export class OtDocument {
  private text: string;
  private textLength: number;
  private textCrc: number;
  private currentVersion: number;
  private readonly history: KeptPacket[] = [];
  private readonly maxHistory: number;

  constructor(options: OtDocumentOptions = {}) {
    this.text = options.contents ?? '';
    this.textLength = codePointLength(this.text);
    this.textCrc = crc32(this.text);
    this.currentVersion = options.version ?? 0;
    this.maxHistory = options.maxHistory ?? OT_DEFAULTS.maxHistory;
    if (!Number.isSafeInteger(this.currentVersion) || this.currentVersion < 0) {
      throw new TypeError(`version must be a non-negative integer, got ${this.currentVersion}`);
    }
    if (!Number.isSafeInteger(this.maxHistory) || this.maxHistory < 0) {
      throw new TypeError(`maxHistory must be a non-negative integer, got ${this.maxHistory}`);
    }
  }

  get contents(): string {
    return this.text;
  }

  /** Length of the contents in code points. */
  get length(): number {
    return this.textLength;
  }

  get version(): number {
    return this.currentVersion;
  }

  get crc32(): number {
    return this.textCrc;
  }

  /** The oldest version a packet may still be based on. */
  get oldestVersion(): number {
    return this.currentVersion - this.history.length;
  }

  /**
   * Applies `ops` made on version `version`: transforms them against every later packet, applies
   * them, and returns the new packet. Nothing changes when it throws `OtError`:
   * OT_VERSION_AHEAD (`version` not reached yet), OT_VERSION_TOO_OLD (history no longer kept),
   * OT_BAD_OPS (empty list, or ops that do not fit version `version`'s text), OT_CRC_MISMATCH
   * (`expectedCrc32` given and the result's crc32 differs).
   */
  apply(version: number, ops: Ops, expectedCrc32?: number): Packet {
    if (!Number.isSafeInteger(version) || version < 0) {
      throw new OtError('OT_BAD_OPS', `version must be a non-negative integer, got ${version}`);
    }
    if (version > this.currentVersion) {
      throw new OtError(
        'OT_VERSION_AHEAD',
        `version ${version} is ahead of the document (${this.currentVersion})`,
      );
    }
    const oldest = this.oldestVersion;
    if (version < oldest) {
      throw new OtError(
        'OT_VERSION_TOO_OLD',
        `version ${version} is older than the kept history (from ${oldest})`,
      );
    }
    if (!Array.isArray(ops) || ops.length === 0) throw new OtError('OT_BAD_OPS', 'ops must not be empty');
    const later = this.history.slice(version - oldest);
    let edit = checkOps(ops, later[0]?.baseLength ?? this.textLength);
    for (const packet of later) edit = transform(edit, packet.ops, 'right');
    const text = apply(this.text, edit);
    const sum = crc32(text);
    if (expectedCrc32 !== undefined && expectedCrc32 !== sum) {
      throw new OtError('OT_CRC_MISMATCH', `the result's crc32 is ${sum}, not ${expectedCrc32}`);
    }
    const packet: KeptPacket = {
      version: this.currentVersion + 1,
      ops: edit,
      crc32: sum,
      baseLength: this.textLength,
    };
    this.text = text;
    this.textLength = codePointLength(text);
    this.textCrc = sum;
    this.currentVersion = packet.version;
    this.history.push(packet);
    if (this.history.length > this.maxHistory) this.history.splice(0, this.history.length - this.maxHistory);
    return { version: packet.version, ops: packet.ops, crc32: packet.crc32 };
  }

  /**
   * The packets that produced versions `versionFrom` to `versionTo`, both included (version 0 has no
   * packet; an empty range gives none). Throws OT_VERSION_AHEAD past the current version and
   * OT_VERSION_TOO_OLD when part of the range is no longer kept.
   */
  fetch(versionFrom: number, versionTo: number): Packet[] {
    const from = Math.max(versionFrom, 1);
    if (versionTo > this.currentVersion) {
      throw new OtError(
        'OT_VERSION_AHEAD',
        `version ${versionTo} is ahead of the document (${this.currentVersion})`,
      );
    }
    if (from > versionTo) return [];
    const oldest = this.oldestVersion;
    if (from <= oldest) {
      throw new OtError(
        'OT_VERSION_TOO_OLD',
        `version ${from} is older than the kept history (from ${oldest + 1})`,
      );
    }
    return this.history
      .slice(from - oldest - 1, versionTo - oldest)
      .map(({ version, ops, crc32 }) => ({ version, ops, crc32 }));
  }
}
