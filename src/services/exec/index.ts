export { EnvAllowList, MINIMAL_ENV } from './environment.js';
export { EXEC_DEFAULTS, type ExecOptions, type ExecState, exec } from './exec.js';
export { type RunLimits, signalExitCode } from './run.js';
export { ExecItem, type ExecService, execService } from './service.js';
