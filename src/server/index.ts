export { RequestError } from '../protocol/errors.js';
export type { UpgradeRefusal, UpgradeRequest, VerifyUpgrade } from '../transport/socket.js';
export * from './auth/index.js';
export type { ConnectionInfo, Context, HandlerFor, Handlers, Pusher } from './handlers.js';
export { DEFAULT_IDEMPOTENCY_WINDOW_MS } from './idempotent-call.js';
export { DEFAULT_LIMITS, type Limits } from './limits.js';
export { DEFAULT_LOG_BUDGET, LOG_EVENTS, type LogBudget, type LogEventName } from './log-events.js';
export {
  consoleLogger,
  createConsoleLogger,
  type FieldsFirstLogger,
  fromPino,
  LOG_LEVELS,
  type Logger,
  type LogLevel,
  silentLogger,
} from './logger.js';
export type { CallInfo, CallLocals, CallOutcome, Middleware } from './middleware.js';
export {
  type CloseOptions,
  createServer,
  Server,
  type ServerOptions,
  type ServiceImplementations,
} from './server.js';
export type {
  ServiceContext,
  ServiceHandlers,
  ServiceImplementation,
  ServiceInstance,
  Session,
  SessionContext,
  Target,
} from './service-types.js';
