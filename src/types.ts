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

/** A shutdown handler: sync or async; its error or rejection makes the exit status `failureExitCode`. */
export type ShutdownHandler = () => unknown;

/** Options of `new Deputy(options)`. */
export interface DeputyOptions {
  /** The first shutdown handler; more can be added with `onShutdown(fn)`. */
  readonly shutdownHandler?: ShutdownHandler;
  /**
   * One deadline, in milliseconds, for all shutdown handlers together; they get this or what is
   * left of `gracePeriodMs`, whichever is less. Default: 5000.
   */
  readonly shutdownHandlerTimeoutMs?: number;
  /**
   * The whole shutdown — drain delay, drain and handlers — must fit in this many milliseconds:
   * set it to (a little under) the pod's `terminationGracePeriodSeconds`. Each phase gets what is
   * left. Default: `$DEPUTY_GRACE_PERIOD`, else 30000 (Kubernetes' default grace period).
   */
  readonly gracePeriodMs?: number;
  /**
   * Minimum time, in milliseconds, to keep accepting and serving new connections on attached
   * servers after shutdown begins, while endpoint removal propagates to kube-proxy, ingresses
   * and meshes. Default: `$DEPUTY_DRAIN_DELAY`, else 5000 when `KUBERNETES_SERVICE_HOST` is set
   * (running in a pod), else 0.
   */
  readonly drainDelayMs?: number;
  /**
   * After `drainDelayMs`, the delay goes on until no new connection has arrived on an attached
   * server for this many milliseconds (capped by the deadline), so a slow propagation is waited
   * for rather than guessed. Default: `$DEPUTY_DRAIN_QUIET`, else 1000.
   */
  readonly drainQuietMs?: number;
  /** Exit status after a handler throws, rejects or runs out of time. Default: 1. */
  readonly failureExitCode?: number;
  /**
   * Make liveness answer 503 once shutdown begins. Off by default: a failing liveness probe during
   * a long drain makes the kubelet restart the container and record a noisy event. Default: false.
   */
  readonly livenessFailsOnShutdown?: boolean;
}

/** Options of `deputy.serve(options)`. */
export interface ServeOptions {
  /**
   * Interface to listen on. Default: `$DEPUTY_HEALTH_CHECK_HOST`, else `0.0.0.0` — the kubelet's
   * httpGet probes come from outside the container, so 127.0.0.1 would be unreachable to them.
   */
  readonly host?: string;
  /** TCP port; 0 picks a free one. Default: `$DEPUTY_HEALTH_CHECK_PORT`, else 8081. */
  readonly port?: number;
}

/** Options of `supervise(options)` — what `deputy supervise` runs with. */
export interface SuperviseOptions {
  /** The command: a path, or a name looked up in PATH. Run without a shell. */
  readonly command: string;
  /** Its arguments. Default: none. */
  readonly args?: readonly string[];
  /**
   * Milliseconds from the start of termination (SIGTERM, SIGINT or a `terminate` datagram) until
   * the child's process group is killed with SIGKILL. Also bounds the wait for the processes the
   * child leaves behind and for a running preStop hook. Default: 25000 (under Kubernetes' 30 s).
   */
  readonly timeoutMs?: number;
  /** Exit status after the timeout killed the child. Default: 137 (128 + SIGKILL). */
  readonly timeoutExitCode?: number;
  /** Send forwarded signals, and the signal of the graceless path, to the child's whole process group. Default: false. */
  readonly processGroup?: boolean;
  /**
   * Become a child subreaper (`prctl(PR_SET_CHILD_SUBREAPER)`) so orphaned descendants are reaped
   * and ended by the supervisor when it is not PID 1. As PID 1 this is implied. Default: false.
   */
  readonly subreaper?: boolean;
}
