export { gracefulTerminator, gracefulTerminate, type GracefulTerminatorHandle } from './terminator.js';
export { Deputy, HEALTH_CHECK_HOST_ENV, HEALTH_CHECK_PORT_ENV } from './deputy.js';
export { DRAIN_DELAY_ENV, DRAIN_QUIET_ENV, GRACE_PERIOD_ENV } from './deputy.js';
export type { DrainableServer, DrainOutcome } from './drain.js';
export { handleProbeRequest, PROBE_PATHS, type ProbeKind, type ProbeResult, type NotReadyReason } from './health.js';
export {
  IPC_DIR_ENV,
  DEFAULT_IPC_DIR,
  TERMINATE_MESSAGE,
  ipcDir,
  socketPath,
  entrypointPidPath,
  readEntrypointPid,
} from './protocol.js';
export * from './errors.js';
export { parseDuration } from './duration.js';
export { LOG_LEVEL_ENV, createLogger, type Logger } from './log.js';
export type * from './types.js';
export { supervise } from './supervisor.js';
export { installSuperviseShim, ShimExistsError, SHIM_SCRIPTS, type InstallShimOptions, type InstalledScript } from './shim.js';
export { NotReady, type Check, type CheckOptions, type CheckResult } from './checks.js';
export { HEALTH_TOKEN_ENV, type ProbeOptions, type ProbeSource } from './health.js';
export { withProbes, expressProbes, koaProbes, type RequestListener, type KoaContextLike } from './middleware.js';
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
} from './builtin-checks.js';
