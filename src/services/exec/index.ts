export {
  DENIED_ENV,
  EXEC_DEFAULTS,
  type ExecOptions,
  type ExecState,
  exec,
  MINIMAL_ENV,
  signalExitCode,
} from './exec.js';
export { ExecItem, type ExecService, execService } from './service.js';
