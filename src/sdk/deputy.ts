/**
 * The Deputy: the app's side of termination. It serves the probes, flips readiness the moment
 * shutdown begins (and aborts `deputy.signal`), drains the attached HTTP servers and waits for
 * tracked work (delay → drain), runs the shutdown handlers, all under one deadline
 * (shutdown.ts), and exits with a status that says how it went, after one final record.
 */
import type { Server } from 'node:http';
import { Drain } from './drain.js';
import type { DrainableServer } from './drain-connections.js';
import type { Check, CheckResult } from './check-result.js';
import { CheckRegistry, type CheckOptions } from './checks.js';
import { listenHealth, type NotReadyReason, type ProbeKind, type ProbeOptions, type ProbeResult } from './health.js';
import { sdkLog } from '../log/logger.js';
import { terminateRequestBeingServed } from '../ipc/terminate-request.js';
import { deputySettings, healthAddress, type DeputySettings } from './deputy-settings.js';
import { Shutdown } from './shutdown.js';
import { DeputyShutdown, type DeputyPhase } from './shutdown-record.js';
import { notifyShutdownObservers, observeShutdown } from './shutdown-observer.js';
import { TrackedWork, type TrackOptions, type Work } from './tracked-work.js';
import { registerDeputyMetrics } from './metrics.js';
import type { DeputyOptions, MetricsRegistry, ServeOptions, ShutdownHandler } from './types.js';

export { HEALTH_CHECK_PORT_ENV, HEALTH_CHECK_HOST_ENV, GRACE_PERIOD_ENV, DRAIN_DELAY_ENV, DRAIN_QUIET_ENV } from './deputy-settings.js';

const NO_CHECKS: readonly CheckResult[] = [];

/** The fixed answers, built once (health.ts renders a frozen body once too). */
const fixed = (statusCode: number, status: string): ProbeResult => Object.freeze({ statusCode, body: Object.freeze({ status }) });
const STARTED = fixed(200, 'started');
const NOT_STARTED = fixed(503, 'not_started');
const LIVE = fixed(200, 'ok');
const LIVE_SHUTTING_DOWN = fixed(503, 'shutting_down');
const READY = fixed(200, 'ready');

export class Deputy {
  readonly #handlers: ShutdownHandler[] = [];
  readonly #settings: DeputySettings;
  readonly #drain = new Drain();
  readonly #tracked = new TrackedWork();
  readonly #aborter = new AbortController();
  readonly #readinessChecks = new CheckRegistry('readiness');
  readonly #livenessChecks = new CheckRegistry('liveness');
  readonly #registry: MetricsRegistry | undefined;
  #started = false;
  #shutdown: Shutdown | undefined;
  #shutdownDone: Promise<void> | undefined;

  constructor(options: DeputyOptions = {}) {
    this.#settings = deputySettings(options);
    if (options.shutdownHandler) this.#handlers.push(options.shutdownHandler);
    // Before the crash listeners: a registry refused must leave nothing behind.
    this.#registry = options.registry;
    if (options.registry !== undefined) {
      registerDeputyMetrics(
        options.registry,
        {
          passes: (kind) => this.#passes(kind),
          shuttingDown: () => this.shuttingDown,
          connections: () => this.#drain.connectionStates(),
          requestsCut: () => this.#drain.requestsCut,
          trackedInFlight: () => this.#tracked.inFlight,
          observeShutdown: (observer) => observeShutdown(this, observer),
        },
        { live: this.#livenessChecks, ready: this.#readinessChecks },
      );
    }
    if (this.#settings.shutdownOnCrash) {
      process.on('uncaughtException', (error, origin) => this.#crashed(error, origin));
      process.on('unhandledRejection', (reason) => this.#crashed(reason, 'unhandledRejection'));
    }
  }

  /** The prom-client registry given as `registry`, served at `/metrics`; undefined without one. */
  get registry(): MetricsRegistry | undefined {
    return this.#registry;
  }

  /** Adds a shutdown handler; handlers run in the order added, all under one deadline. */
  onShutdown(handler: ShutdownHandler): this {
    this.#handlers.push(handler);
    return this;
  }

  /**
   * Drains `server` at shutdown: node:http, node:https or node:http2 (plain or secure); Express
   * and Koa through the server their `app.listen()` returns. Returns the server.
   */
  attach<S extends DrainableServer>(server: S): S {
    this.#drain.attach(server);
    return server;
  }

  /** Marks start-up done: startup and readiness pass from now until shutdown begins. */
  readied(): void {
    if (this.#started) return;
    this.#started = true;
    sdkLog().info({ phase: 'ready' }, 'ready');
  }

  /** True after `readied()`. */
  get started(): boolean {
    return this.#started;
  }

  /** True once shutdown has begun. */
  get shuttingDown(): boolean {
    return this.#shutdown !== undefined;
  }

  /** `running` until shutdown begins, then the shutdown's phase: `delay`, `drain`, `handlers`, `done`. */
  get phase(): DeputyPhase {
    return this.#shutdown?.phase ?? 'running';
  }

  /**
   * Aborted the moment shutdown begins (before the drain delay), with a {@link DeputyShutdown}
   * as its reason. Hand it to work that should stop taking more (a consumer loop, a poller).
   */
  get signal(): AbortSignal {
    return this.#aborter.signal;
  }

  /** Tracked work running now. */
  get trackedInFlight(): number {
    return this.#tracked.inFlight;
  }

  /**
   * Tracks `work` — a promise, or a function called with `deputy.signal` that returns one — and
   * returns a promise of the same result. Shutdown waits for tracked work in parallel with the
   * HTTP drain, until the drain deadline; work still running then is reported by name and makes
   * the exit status `failureExitCode`. Work tracked once shutdown has begun is logged, and waited
   * for if the drain is not over yet.
   */
  track<T>(work: Work<T>, options: TrackOptions = {}): Promise<Awaited<T>> {
    const { promise, name } = this.#tracked.track(work, options, this.#aborter.signal);
    const phase = this.phase;
    if (phase === 'delay' || phase === 'drain') {
      sdkLog().info({ phase, work: name }, 'work tracked after shutdown began; the drain waits for it too');
    } else if (phase !== 'running') {
      sdkLog().warn({ phase, work: name }, `work tracked during the ${phase} phase, after the drain: nothing waits for it; await it in the handler that starts it`);
    }
    return promise;
  }

  /**
   * Adds a readiness check: while it throws, rejects or runs past `timeoutMs`, readiness answers
   * 503 with reason `<name>` (or `<name>:<detail>` for a `NotReady` error, `<name>:timeout` for a
   * timeout). Checks run concurrently on each readiness probe, not once shutdown has begun.
   */
  addReadinessCheck(name: string, check: Check, options: CheckOptions = {}): this {
    this.#readinessChecks.add(name, check, options);
    return this;
  }

  /**
   * Adds a liveness check, with the same semantics as readiness checks but failing liveness
   * (`not_live`), which makes the kubelet restart the container: check only what a restart fixes
   * (a stuck event loop, a wedged consumer), never a shared dependency. Not run during shutdown.
   */
  addLivenessCheck(name: string, check: Check, options: CheckOptions = {}): this {
    this.#livenessChecks.add(name, check, options);
    return this;
  }

  /**
   * Answers one probe from the current state and the checks of its kind. With `verbose`, the
   * body also lists each check's result (`checks`), which may carry dependency error messages.
   */
  probe(kind: ProbeKind, options: ProbeOptions = {}): Promise<ProbeResult> {
    const verbose = options.verbose === true;
    const registry = this.#checksFor(kind);
    if (registry === undefined || registry.size === 0) return Promise.resolve(this.#answer(kind, verbose, NO_CHECKS));
    return new Promise((resolve) => {
      const checks = registry.run((results) => resolve(this.#answer(kind, verbose, results)));
      if (checks !== undefined) resolve(this.#answer(kind, verbose, checks));
    });
  }

  #checksFor(kind: ProbeKind): CheckRegistry | undefined {
    // Checks stop with shutdown: dependencies are being closed on purpose then.
    return kind === 'startup' || this.shuttingDown ? undefined : kind === 'live' ? this.#livenessChecks : this.#readinessChecks;
  }

  /** Whether a probe of `kind` would pass now, from the checks' last results: runs none (for metrics). */
  #passes(kind: ProbeKind): boolean {
    return this.#answer(kind, false, this.#checksFor(kind)?.lastResults() ?? NO_CHECKS).statusCode === 200;
  }

  #answer(kind: ProbeKind, verbose: boolean, checks: readonly CheckResult[]): ProbeResult {
    const answer = (result: ProbeResult): ProbeResult => (verbose ? { statusCode: result.statusCode, body: { ...result.body, checks } } : result);
    if (kind === 'startup') return answer(this.#started ? STARTED : NOT_STARTED);
    const failed: NotReadyReason[] = [];
    for (const check of checks) if (!check.ok) failed.push(check.reason!);
    if (kind === 'live') {
      if (this.shuttingDown && this.#settings.livenessFailsOnShutdown) return answer(LIVE_SHUTTING_DOWN);
      return answer(failed.length === 0 ? LIVE : { statusCode: 503, body: { status: 'not_live', reasons: failed } });
    }
    const reasons: NotReadyReason[] = [];
    if (!this.#started) reasons.push('not_started');
    // Read after the checks ran: shutdown may have begun meanwhile.
    if (this.shuttingDown) reasons.push('shutting_down');
    reasons.push(...failed);
    return answer(reasons.length === 0 ? READY : { statusCode: 503, body: { status: 'not_ready', reasons } });
  }

  /**
   * Starts the health server. Resolves with the listening server; rejects when the port cannot be
   * bound, naming the port and how to choose another.
   */
  serve(options: ServeOptions = {}): Promise<Server> {
    const { port, host } = healthAddress(options);
    return listenHealth(this, port, host);
  }

  /**
   * Begins shutdown, all under one deadline (`gracePeriodMs`; shutdown-budget.ts splits it):
   * 1. readiness fails and `deputy.signal` aborts at once (liveness stays green);
   * 2. drain delay (when servers are attached or `drainDelayMs` > 0; not after a crash):
   *    attached servers keep accepting and serving, every response says `Connection: close`,
   *    HTTP/2 sessions get GOAWAY; it lasts at least `drainDelayMs`, then until no new
   *    connection has brought traffic (a first request other than a probe) for `drainQuietMs`,
   *    capped at half of what delay and drain share (more when `drainDelayMs` asks, but the drain
   *    always keeps max(1 s, a quarter) of it, at most half);
   * 3. drain: stop listening, let in-flight requests and tracked work finish, close idle
   *    keep-alive sockets once their advertised timeout has passed, destroy the connections left
   *    at the drain deadline (the deadline less the handlers' share, min(`shutdownHandlerTimeoutMs`,
   *    half the grace period)) and report the tracked work left;
   * 4. the handlers run in order under min(`shutdownHandlerTimeoutMs`, what is left);
   * then one final record (docs/sdk.md, "The shutdown record") and the exit: 0, or
   * `failureExitCode` after a handler error or timeout, tracked work cut, or a crash. A handler
   * calling `process.exit(n)` decides the status itself. Called from `gracefulTerminator`'s
   * callback, the record says whether a terminate request or a signal began it. Calling it again
   * returns the same promise and does nothing more.
   */
  shutdown(): Promise<void> {
    if (this.#shutdownDone === undefined) {
      const via = terminateRequestBeingServed();
      this.#begin(via === undefined ? new DeputyShutdown('call') : via === 'socket' ? new DeputyShutdown('terminate') : new DeputyShutdown('signal', via));
    }
    return this.#shutdownDone!;
  }

  #begin(how: DeputyShutdown): void {
    const shutdown = new Shutdown(
      how,
      {
        drain: this.#drain,
        tracked: this.#tracked,
        handlers: this.#handlers,
        onPhase: (phase, record) => notifyShutdownObservers(this, phase, record),
      },
      this.#settings,
    );
    this.#shutdown = shutdown;
    this.#shutdownDone = shutdown.run();
    notifyShutdownObservers(this, 'delay');
    // Last: the signal's listeners (the app's) see the Deputy already shutting down.
    this.#aborter.abort(how);
  }

  /** With `shutdownOnCrash`: the first crash begins the shutdown, one during a shutdown ends the process. */
  #crashed(error: unknown, origin: string): void {
    if (this.#shutdown !== undefined) {
      this.#shutdown.crashedAgain(error, origin);
      return;
    }
    const what = origin === 'unhandledRejection' ? 'unhandled rejection' : 'uncaught exception';
    sdkLog().fatal({ phase: 'shutdown', err: error, origin }, `${what}; shutting down (shutdownOnCrash): requests in flight and tracked work finish, the handlers run, then exit with failureExitCode`);
    this.#begin(new DeputyShutdown('crash', undefined, error));
  }
}
