import { create } from '@bufbuild/protobuf';
import {
  FileSchema,
  type OTCursor,
  OTCursorSchema,
  OTFetchResponseSchema,
  type OTPacket,
  OTPacketSchema,
  type OTRuneTransformOp,
  OTRuneTransformOpSchema,
  OTStatusSchema,
} from '../gen/api_pb.js';
import type { GovalRequest, GovalServiceMapping } from '../mapping.js';
import { array, okBody, record, string, uint32, userToGoval } from '../values.js';

/** An OT op as the ot service has it: positions and lengths in Unicode code points. */
export type OtOp = { readonly skip: number } | { readonly delete: number } | { readonly insert: string };

/**
 * The ot service over goval: `otLinkFile` links (answered by `otstatus`), an `ot` packet applies
 * (answered by the packet as applied, with the ref; others get it as the `ot` event),
 * `otFetchRequest`/`otFetchResponse` fetch history, `otNewCursor`/`otDeleteCursor` move cursors,
 * and `flush` is answered by `ok`. Versions are `OTPacket.version`; `spookyVersion` is not read.
 */
export const otMapping: GovalServiceMapping = {
  requests: {
    otLinkFile: (link) => ({ command: 'link', input: link.file?.path ? { path: link.file.path } : {} }),
    ot: (packet) => {
      const ops = opsFromGoval(packet.ops);
      if (typeof ops === 'string') return { error: ops };
      return {
        command: 'apply',
        // A crc32 of 0 is proto3's "not set" (and the crc32 of empty contents, where there is nothing to check).
        input: { version: packet.version, ops, ...(packet.crc32 === 0 ? {} : { crc32: packet.crc32 }) },
      };
    },
    otFetchRequest: (fetch) => ({
      command: 'fetch',
      input: { versionFrom: fetch.versionFrom, versionTo: fetch.versionTo },
    }),
    otNewCursor: (cursor): GovalRequest => ({
      command: 'cursor',
      input: {
        position: cursor.position,
        selectionStart: cursor.selectionStart,
        selectionEnd: cursor.selectionEnd,
        ...(cursor.id === '' ? {} : { id: cursor.id }),
      },
    }),
    otDeleteCursor: (cursor) => ({ command: 'deleteCursor', input: { id: cursor.id } }),
    flush: () => ({ command: 'flush', input: {} }),
  },
  results: {
    link: (output) => status(output, 'ot.link output'),
    status: (output) => status(output, 'ot.status output'),
    apply: (output) => ({ case: 'ot', value: packetToGoval(output, 'ot.apply output') }),
    fetch: (output) => ({
      case: 'otFetchResponse',
      value: create(OTFetchResponseSchema, {
        packets: array(record(output, 'ot.fetch output').packets, 'ot.fetch output.packets').map((packet) =>
          packetToGoval(packet, 'ot.fetch output.packets[]'),
        ),
      }),
    }),
    cursor: okBody,
    deleteCursor: okBody,
    flush: okBody,
  },
  events: {
    ot: (payload) => ({ case: 'ot', value: packetToGoval(payload, 'ot.ot') }),
    cursor: (payload) => ({ case: 'otNewCursor', value: cursorToGoval(payload, 'ot.cursor') }),
    cursorDeleted: (payload) => ({
      case: 'otDeleteCursor',
      value: create(OTCursorSchema, {
        id: string(record(payload, 'ot.cursorDeleted').id, 'ot.cursorDeleted.id'),
      }),
    }),
  },
};

/** goval ops to ours; a string says why they are not ops (an op with none of skip, delete, insert). */
export function opsFromGoval(ops: readonly OTRuneTransformOp[]): OtOp[] | string {
  const result: OtOp[] = [];
  for (const [index, { op }] of ops.entries()) {
    switch (op.case) {
      case 'skip':
        result.push({ skip: op.value });
        break;
      case 'delete':
        result.push({ delete: op.value });
        break;
      case 'insert':
        result.push({ insert: op.value });
        break;
      default:
        return `ot: op ${index} is none of skip, delete, insert`;
    }
  }
  return result;
}

/** Our ops to goval's; throws a TypeError on anything else. */
export function opsToGoval(value: unknown, what: string): OTRuneTransformOp[] {
  return array(value, what).map((entry) => {
    const op = record(entry, `${what}[]`);
    if ('skip' in op)
      return create(OTRuneTransformOpSchema, { op: { case: 'skip', value: uint32(op.skip, 'skip') } });
    if ('delete' in op)
      return create(OTRuneTransformOpSchema, { op: { case: 'delete', value: uint32(op.delete, 'delete') } });
    if ('insert' in op)
      return create(OTRuneTransformOpSchema, { op: { case: 'insert', value: string(op.insert, 'insert') } });
    throw new TypeError(`goval: ${what}[] must be {skip}, {delete} or {insert}`);
  });
}

function packetToGoval(value: unknown, what: string): OTPacket {
  const packet = record(value, what);
  return create(OTPacketSchema, {
    version: uint32(packet.version, `${what}.version`),
    ops: opsToGoval(packet.ops, `${what}.ops`),
    crc32: uint32(packet.crc32, `${what}.crc32`),
  });
}

function cursorToGoval(value: unknown, what: string): OTCursor {
  const cursor = record(value, what);
  return create(OTCursorSchema, {
    position: uint32(cursor.position, `${what}.position`),
    selectionStart: uint32(cursor.selectionStart, `${what}.selectionStart`),
    selectionEnd: uint32(cursor.selectionEnd, `${what}.selectionEnd`),
    ...(cursor.user === undefined ? {} : { user: userToGoval(cursor.user) }),
    id: string(cursor.id, `${what}.id`),
  });
}

function status(value: unknown, what: string) {
  const output = record(value, what);
  return {
    case: 'otstatus' as const,
    value: create(OTStatusSchema, {
      contents: string(output.contents, `${what}.contents`),
      version: uint32(output.version, `${what}.version`),
      // The contract has no path; a service that adds one gets it back as goval's linkedFile.
      ...(typeof output.path === 'string' ? { linkedFile: create(FileSchema, { path: output.path }) } : {}),
      cursors: array(output.cursors ?? [], `${what}.cursors`).map((cursor) =>
        cursorToGoval(cursor, `${what}.cursors[]`),
      ),
    }),
  };
}
