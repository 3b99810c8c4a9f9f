import { create } from '@bufbuild/protobuf';
import { FileEvent_Op, FileEventSchema, FileSchema, FilesSchema, StatResultSchema } from '../gen/api_pb.js';
import type { GovalServiceMapping } from '../mapping.js';
import {
  array,
  fileToGoval,
  fileTypeToGoval,
  fromBase64,
  int64,
  okBody,
  record,
  string,
  toBase64,
} from '../values.js';

const FILE_OPS: Readonly<Record<string, FileEvent_Op>> = {
  create: FileEvent_Op.Create,
  move: FileEvent_Op.Move,
  remove: FileEvent_Op.Remove,
  modify: FileEvent_Op.Modify,
};

/**
 * The files service over goval: `read`→`file`, `write`/`remove`/`mkdir`/`move`/`subscribeFile`→`ok`,
 * `readdir`→`files`, `stat`→`statRes`, and `fileEvent` pushes. Contents are bytes on goval and
 * base64 strings in the service.
 */
export const filesMapping: GovalServiceMapping = {
  requests: {
    read: (file) => ({ command: 'read', input: { path: file.path } }),
    write: (file) => ({ command: 'write', input: { path: file.path, content: toBase64(file.content) } }),
    remove: (file) => ({ command: 'remove', input: { path: file.path } }),
    mkdir: (file) => ({ command: 'mkdir', input: { path: file.path } }),
    readdir: (file) => ({ command: 'readdir', input: { path: file.path } }),
    stat: (file) => ({ command: 'stat', input: { path: file.path } }),
    move: (move) => ({ command: 'move', input: { oldPath: move.oldPath, newPath: move.newPath } }),
    subscribeFile: (subscribe) => ({
      command: 'subscribe',
      input: { paths: subscribe.files.map((file) => file.path) },
    }),
  },
  results: {
    read: (output) => {
      const file = record(output, 'files.read output');
      return {
        case: 'file',
        value: create(FileSchema, {
          path: string(file.path, 'files.read output.path'),
          content: fromBase64(string(file.content, 'files.read output.content')),
        }),
      };
    },
    readdir: (output) => ({
      case: 'files',
      value: create(FilesSchema, {
        files: array(record(output, 'files.readdir output').files, 'files.readdir output.files').map(
          fileToGoval,
        ),
      }),
    }),
    stat: (output) => {
      const stat = record(output, 'files.stat output');
      return {
        case: 'statRes',
        value: create(StatResultSchema, {
          exists: stat.exists === true,
          // A missing file has no type: goval's zero value.
          type: stat.type === undefined ? 0 : fileTypeToGoval(stat.type),
          size: int64(stat.size ?? 0, 'files.stat output.size'),
          fileMode: stat.fileMode === undefined ? '' : string(stat.fileMode, 'files.stat output.fileMode'),
          modTime: int64(stat.modTime ?? 0, 'files.stat output.modTime'),
        }),
      };
    },
    write: okBody,
    remove: okBody,
    mkdir: okBody,
    move: okBody,
    subscribe: okBody,
  },
  events: {
    fileEvent: (payload) => {
      const event = record(payload, 'files.fileEvent');
      const op = FILE_OPS[string(event.op, 'files.fileEvent.op')];
      if (op === undefined) throw new TypeError(`goval: unknown file event op ${String(event.op)}`);
      return {
        case: 'fileEvent',
        value: create(FileEventSchema, {
          op,
          file: fileToGoval(event.file),
          ...(event.dest === undefined ? {} : { dest: fileToGoval(event.dest) }),
        }),
      };
    },
  },
};
