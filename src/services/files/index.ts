export { FILES_DEFAULTS, type FilesOptions, type FilesState, fileMode, files } from './files.js';
export { type Located, MAX_NAME_BYTES, MAX_PATH_BYTES, type PathRefusal, SandboxRoot } from './root.js';
export {
  FileEntry,
  FileEvent,
  FileStat,
  type FilesService,
  FileType,
  filesService,
} from './service.js';
export { covers, FileSubscriptions } from './subscriptions.js';
export { RootWatcher } from './watcher.js';
