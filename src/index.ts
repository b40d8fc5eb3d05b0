export { gracefulTerminator, type GracefulTerminatorHandle } from './ipc/terminator.js';
export { gracefulTerminate } from './ipc/terminate-sender.js';
export { Deputy, HEALTH_CHECK_HOST_ENV, HEALTH_CHECK_PORT_ENV } from './sdk/deputy.js';
export { DRAIN_DELAY_ENV, DRAIN_QUIET_ENV, GRACE_PERIOD_ENV } from './sdk/deputy.js';
export type { DrainableServer } from './sdk/drain-connections.js';
export type { DrainOutcome } from './sdk/drain-outcome.js';
export { DeputyShutdown, type ShutdownCause, type DeputyPhase, type ShutdownPhase, type ShutdownRecord } from './sdk/shutdown-record.js';
export type { TrackOptions, Work } from './sdk/tracked-work.js';
export { eventLoopCheck, memoryCheck, type EventLoopCheckOptions, type MemoryCheckOptions } from './sdk/load-checks.js';
export { handleProbeRequest, PROBE_PATHS, type ProbeKind, type ProbeResult, type NotReadyReason } from './sdk/health.js';
export {
  IPC_DIR_ENV,
  DEFAULT_IPC_DIR,
  TERMINATE_MESSAGE,
  ipcDir,
  socketPath,
  entrypointPidPath,
  readEntrypointPid,
} from './contract/protocol.js';
export * from './contract/errors.js';
export { parseDuration } from './contract/duration.js';
export { LOG_LEVEL_ENV, createLogger, type Logger } from './sdk/app-logger.js';
export type * from './sdk/types.js';
export type * from './ipc/types.js';
export type * from './supervisor/types.js';
export { supervise } from './supervisor/supervision.js';
export { installSuperviseShim, ShimExistsError, SHIM_SCRIPTS, type InstallShimOptions, type InstalledScript } from './cli/install-shim.js';
export { NotReady, type Check, type CheckResult } from './sdk/check-result.js';
export type { CheckOptions } from './sdk/checks.js';
export { HEALTH_TOKEN_ENV, type ProbeOptions, type ProbeSource } from './sdk/health.js';
export { withProbes, expressProbes, koaProbes, type RequestListener, type KoaContextLike } from './sdk/middleware.js';
export {
  postgresCheck,
  redisCheck,
  memcachedCheck,
  tcpCheck,
  httpCheck,
  type QueryClient,
  type PingClient,
  type TcpTarget,
  type HttpCheckOptions,
} from './sdk/builtin-checks.js';
