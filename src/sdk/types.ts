/** Options of the Deputy (see deputy.ts). Durations are in milliseconds. */
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
  /**
   * Treat an uncaught exception or unhandled rejection as the start of a shutdown: it is logged
   * (fatal, with the error), readiness fails, requests in flight and tracked work finish under
   * the usual deadline (without the drain delay: see docs/sdk.md), the handlers run, and the
   * process exits with `failureExitCode`. A second crash during the shutdown exits at once.
   * Off: Node's own behaviour (print the error, exit 1 at once). Default: false.
   */
  readonly shutdownOnCrash?: boolean;
  /**
   * A prom-client `Registry` (e.g. `client.register`, so the app's own metrics come along): the
   * Deputy registers its metrics there (see docs/metrics.md) and its health server answers
   * `GET /metrics` with the registry's exposition. Without one, `/metrics` is not served and
   * prom-client is never loaded.
   */
  readonly registry?: MetricsRegistry;
}

/**
 * The part of a prom-client `Registry` the Deputy uses; any prom-client ≥ 15 registry fits. Stated
 * here rather than imported so that apps without prom-client need not have its types.
 */
export interface MetricsRegistry {
  /** The exposition's content type (Prometheus text or OpenMetrics). */
  readonly contentType: string;
  /** The exposition of every registered metric. */
  metrics(): Promise<string>;
  registerMetric(metric: never): void;
  getSingleMetric(name: string): unknown;
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
