/** Options of the terminate protocol's two ends (terminator.ts listens, terminate-sender.ts sends). */
/** Options of `gracefulTerminator(fn, options)`. */
export interface GracefulTerminatorOptions {
  /**
   * Write this process's pid to `${DEPUTY_IPC_DIR}/deputy-entrypoint.pid`, making it the default
   * target of `deputy terminate` and of the supervisor. Set false for helper processes that should
   * be terminated by pid only. Default: true.
   */
  readonly setEntrypoint?: boolean;
  /**
   * Signals that also run the callback, so an app started without the supervisor (node as PID 1
   * under `docker run`, or at a terminal) terminates gracefully too. A second SIGINT while the
   * callback runs exits at once with 130. Default: `['SIGTERM', 'SIGINT']`.
   */
  readonly signals?: readonly NodeJS.Signals[];
}

/** Options of `gracefulTerminate(pid, options)`. */
export interface GracefulTerminateOptions {
  /** Resolve only once the target process no longer exists (polled every 50 ms). Default: true. */
  readonly wait?: boolean;
  /** Give up and reject with `TerminateTimeoutError` after this many milliseconds. Default: no limit. */
  readonly timeoutMs?: number;
}
