export { DENIED_ENV, EXEC_DEFAULTS, type ExecOptions, exec, MINIMAL_ENV, signalExitCode } from './exec.js';
export { ExecItem, type ExecService, execService } from './service.js';
