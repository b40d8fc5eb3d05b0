/**
 * The Deputy: the app's side of termination. It serves the probes, flips readiness the moment
 * shutdown begins, drains the attached HTTP servers (delay → drain), runs the shutdown handlers,
 * all under one deadline, and exits with a status that says how it went.
 */
import type { Server } from 'node:http';
import { Drain, logDrainOutcome, type DrainableServer } from './drain.js';
import { MAX_TIMER_MS, checkNonNegativeInteger, parseDuration } from '../contract/duration.js';
import { CheckRegistry, type Check, type CheckOptions, type CheckResult } from './checks.js';
import { UsageError } from '../contract/errors.js';
import { createHealthServer, type NotReadyReason, type ProbeKind, type ProbeOptions, type ProbeResult } from './health.js';
import { sdkLog } from '../log/logger.js';
import { LogLimiter, type RepeatedEvent } from '../log/limit.js';
import type { DeputyOptions, ServeOptions, ShutdownHandler } from './types.js';

/** Environment variable: health server port (default 8081). */
export const HEALTH_CHECK_PORT_ENV = 'DEPUTY_HEALTH_CHECK_PORT';
/** Environment variable: health server interface (default 0.0.0.0). */
export const HEALTH_CHECK_HOST_ENV = 'DEPUTY_HEALTH_CHECK_HOST';
export const DEFAULT_HEALTH_CHECK_PORT = 8081;
export const DEFAULT_HEALTH_CHECK_HOST = '0.0.0.0';
/** Environment variable: the whole shutdown's deadline, a duration (default 30s). */
export const GRACE_PERIOD_ENV = 'DEPUTY_GRACE_PERIOD';
/** Environment variable: minimum drain delay, a duration (default 5s in Kubernetes, else 0). */
export const DRAIN_DELAY_ENV = 'DEPUTY_DRAIN_DELAY';
/** Environment variable: quiet window that ends the drain delay, a duration (default 1s). */
export const DRAIN_QUIET_ENV = 'DEPUTY_DRAIN_QUIET';
export const DEFAULT_GRACE_PERIOD_MS = 30_000;
export const DEFAULT_K8S_DRAIN_DELAY_MS = 5000;
export const DEFAULT_DRAIN_QUIET_MS = 1000;

function durationFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  return raw === undefined || raw === '' ? fallback : parseDuration(raw, name);
}

function portFromEnv(): number {
  const raw = process.env[HEALTH_CHECK_PORT_ENV];
  if (raw === undefined || raw === '') return DEFAULT_HEALTH_CHECK_PORT;
  const port = Number(raw);
  if (!/^[0-9]+$/.test(raw) || port > 65535) {
    throw new UsageError(`${HEALTH_CHECK_PORT_ENV}=${JSON.stringify(raw)} is not a TCP port (0-65535)`);
  }
  return port;
}

const HEALTH_SERVER_ERROR: RepeatedEvent = { event: 'health-server-error', level: 'error', what: 'health server errors' };

const NO_CHECKS: readonly CheckResult[] = [];

export class Deputy {
  readonly #handlers: ShutdownHandler[] = [];
  readonly #handlerTimeoutMs: number;
  readonly #failureExitCode: number;
  readonly #livenessFailsOnShutdown: boolean;
  readonly #gracePeriodMs: number;
  readonly #drainDelayMs: number;
  readonly #drainQuietMs: number;
  readonly #drain = new Drain();
  readonly #readinessChecks = new CheckRegistry('readiness');
  readonly #livenessChecks = new CheckRegistry('liveness');
  #started = false;
  #shutdown: Promise<void> | undefined;

  constructor(options: DeputyOptions = {}) {
    const { shutdownHandler, shutdownHandlerTimeoutMs = 5000, failureExitCode = 1, livenessFailsOnShutdown = false } = options;
    checkNonNegativeInteger(shutdownHandlerTimeoutMs, 'shutdownHandlerTimeoutMs', MAX_TIMER_MS);
    checkNonNegativeInteger(failureExitCode, 'failureExitCode', 255);
    this.#handlerTimeoutMs = shutdownHandlerTimeoutMs;
    this.#failureExitCode = failureExitCode;
    this.#livenessFailsOnShutdown = livenessFailsOnShutdown;
    const inKubernetes = Boolean(process.env.KUBERNETES_SERVICE_HOST);
    const {
      gracePeriodMs = durationFromEnv(GRACE_PERIOD_ENV, DEFAULT_GRACE_PERIOD_MS),
      drainDelayMs = durationFromEnv(DRAIN_DELAY_ENV, inKubernetes ? DEFAULT_K8S_DRAIN_DELAY_MS : 0),
      drainQuietMs = durationFromEnv(DRAIN_QUIET_ENV, DEFAULT_DRAIN_QUIET_MS),
    } = options;
    checkNonNegativeInteger(gracePeriodMs, 'gracePeriodMs', MAX_TIMER_MS);
    checkNonNegativeInteger(drainDelayMs, 'drainDelayMs', MAX_TIMER_MS);
    checkNonNegativeInteger(drainQuietMs, 'drainQuietMs', MAX_TIMER_MS);
    this.#gracePeriodMs = gracePeriodMs;
    this.#drainDelayMs = drainDelayMs;
    this.#drainQuietMs = drainQuietMs;
    if (shutdownHandler) this.#handlers.push(shutdownHandler);
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

  /** True once `shutdown()` has been called. */
  get shuttingDown(): boolean {
    return this.#shutdown !== undefined;
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
   * Returns a promise when a check has to be awaited, else the answer itself (`await` works on both).
   */
  probe(kind: ProbeKind, options: ProbeOptions = {}): ProbeResult | Promise<ProbeResult> {
    const verbose = options.verbose === true;
    // Checks stop with shutdown: dependencies are being closed on purpose then.
    const registry = kind === 'startup' || this.shuttingDown ? undefined : kind === 'live' ? this.#livenessChecks : this.#readinessChecks;
    if (registry === undefined || registry.size === 0) return this.#answer(kind, verbose, NO_CHECKS);
    let answerLater: ((result: ProbeResult) => void) | undefined;
    const checks = registry.run((results) => answerLater!(this.#answer(kind, verbose, results)));
    return checks !== undefined ? this.#answer(kind, verbose, checks) : new Promise((resolve) => (answerLater = resolve));
  }

  #answer(kind: ProbeKind, verbose: boolean, checks: readonly CheckResult[]): ProbeResult {
    const answer = (statusCode: number, body: Record<string, unknown>): ProbeResult => ({ statusCode, body: verbose ? { ...body, checks } : body });
    if (kind === 'startup') return this.#started ? answer(200, { status: 'started' }) : answer(503, { status: 'not_started' });
    const failed: NotReadyReason[] = [];
    for (const check of checks) if (!check.ok) failed.push(check.reason!);
    if (kind === 'live') {
      if (this.shuttingDown && this.#livenessFailsOnShutdown) return answer(503, { status: 'shutting_down' });
      return failed.length === 0 ? answer(200, { status: 'ok' }) : answer(503, { status: 'not_live', reasons: failed });
    }
    const reasons: NotReadyReason[] = [];
    if (!this.#started) reasons.push('not_started');
    // Read after the checks ran: shutdown may have begun meanwhile.
    if (this.shuttingDown) reasons.push('shutting_down');
    reasons.push(...failed);
    return reasons.length === 0 ? answer(200, { status: 'ready' }) : answer(503, { status: 'not_ready', reasons });
  }

  /**
   * Starts the health server. Resolves with the listening server; rejects when the port cannot be
   * bound, naming the port and how to choose another.
   */
  serve(options: ServeOptions = {}): Promise<Server> {
    const port = options.port ?? portFromEnv();
    const host = options.host ?? (process.env[HEALTH_CHECK_HOST_ENV] || DEFAULT_HEALTH_CHECK_HOST);
    const server = createHealthServer(this);
    return new Promise((resolve, reject) => {
      const onListenError = (error: NodeJS.ErrnoException): void => {
        const hint = error.code === 'EADDRINUSE' ? `: port ${port} is in use; set ${HEALTH_CHECK_PORT_ENV} or pass { port }` : '';
        reject(Object.assign(new Error(`health server cannot listen on ${host}:${port} (${error.code ?? error.message})${hint}`), { cause: error }));
      };
      server.once('error', onListenError);
      server.listen(port, host, () => {
        // onListenError only serves listen. A later 'error' (e.g. accept failing with EMFILE)
        // with no listener would crash the app: log it and keep serving.
        server.off('error', onListenError);
        // Repeats as long as the cause lasts (every accept while out of descriptors): rate-limited.
        const limited = new LogLimiter(sdkLog());
        server.once('close', () => limited.flush());
        server.on('error', (error: NodeJS.ErrnoException) => {
          limited.log(
            HEALTH_SERVER_ERROR,
            { phase: 'health', err: error, host, port },
            `health server error (${error.code ?? error.message}); it keeps listening, but probes may fail meanwhile and the kubelet may restart the container or take the pod out of service`,
          );
        });
        const address = server.address();
        sdkLog().info({ host, port: typeof address === 'object' && address ? address.port : port }, 'health server listening');
        resolve(server);
      });
    });
  }

  /**
   * Begins shutdown, all under one deadline (`gracePeriodMs`):
   * 1. readiness fails at once (liveness stays green);
   * 2. drain delay (when servers are attached or `drainDelayMs` > 0): attached servers keep
   *    accepting and serving, every response says `Connection: close`, HTTP/2 sessions get
   *    GOAWAY; it lasts at least `drainDelayMs`, then until no new connection has brought
   *    traffic (a first request other than a probe) for `drainQuietMs`, capped at half of what the drain may use (more when `drainDelayMs` asks,
   *    but the drain always keeps max(1 s, a quarter) of it, at most half);
   * 3. drain: stop listening, let in-flight requests finish, close idle keep-alive sockets once
   *    their advertised timeout has passed, destroy what is left at the drain deadline (the
   *    deadline less the handlers' share, min(`shutdownHandlerTimeoutMs`, half the grace period));
   * 4. the handlers run in order under min(`shutdownHandlerTimeoutMs`, what is left);
   * then the process exits 0, or `failureExitCode` after a handler error or timeout. A handler
   * calling `process.exit(n)` decides the status itself. Calling it again returns the same
   * promise and does nothing more.
   */
  shutdown(): Promise<void> {
    this.#shutdown ??= this.#runShutdown();
    return this.#shutdown;
  }

  async #runShutdown(): Promise<void> {
    const log = sdkLog();
    const started = Date.now();
    const deadlineAt = started + this.#gracePeriodMs;
    const handlerShareMs = this.#handlers.length > 0 ? Math.min(this.#handlerTimeoutMs, Math.floor(this.#gracePeriodMs / 2)) : 0;
    const drainDeadlineAt = deadlineAt - handlerShareMs;
    const servers = this.#drain.serverCount;
    log.info(
      { phase: 'shutdown', handlers: this.#handlers.length, servers, gracePeriodMs: this.#gracePeriodMs, timeoutMs: this.#handlerTimeoutMs },
      'shutdown started; readiness now failing',
    );
    // Let the state change be observed before anything else runs, even synchronous handlers.
    await Promise.resolve();

    if (servers > 0 || this.#drainDelayMs > 0) {
      this.#drain.begin();
      // The delay never takes the whole budget: the drain itself keeps max(1 s, a quarter) of it
      // (at most half, so short budgets keep their half-and-half split).
      const budgetMs = Math.max(0, drainDeadlineAt - started);
      const reserveMs = Math.min(Math.floor(budgetMs / 2), Math.max(1000, Math.floor(budgetMs / 4)));
      const capAt = started + Math.min(Math.max(this.#drainDelayMs, Math.floor(budgetMs / 2)), budgetMs - reserveMs);
      if (this.#drainDelayMs > budgetMs - reserveMs) {
        log.warn(
          { phase: 'delay', drainDelayMs: this.#drainDelayMs, budgetMs, reserveMs, capMs: capAt - started },
          `${DRAIN_DELAY_ENV} (${this.#drainDelayMs} ms) does not fit: delay and drain share ${budgetMs} ms (${GRACE_PERIOD_ENV} less the handlers' share) and the drain keeps ${reserveMs} ms, so the delay is cut to ${capAt - started} ms; lower ${DRAIN_DELAY_ENV} or raise ${GRACE_PERIOD_ENV} together with terminationGracePeriodSeconds`,
        );
      }
      log.info(
        { phase: 'delay', drainDelayMs: this.#drainDelayMs, drainQuietMs: this.#drainQuietMs, capMs: capAt - started },
        'drain delay started; still serving new connections, responses now say Connection: close',
      );
      const reason = await this.#drain.settle(started, this.#drainDelayMs, this.#drainQuietMs, capAt);
      const last = this.#drain.lastConnectionAt;
      const fields = { phase: 'delay', reason, durationMs: Date.now() - started, lastConnectionAgoMs: last ? Date.now() - last : null };
      if (reason === 'cap' && this.#drainDelayMs >= capAt - started) {
        log.warn(fields, `drain delay ended at its cap after ${fields.durationMs} ms, short of ${DRAIN_DELAY_ENV} (see the warning above)`);
      } else if (reason === 'cap') {
        log.warn(
          fields,
          `drain delay ended at its cap after ${fields.durationMs} ms; new connections were still arriving, so endpoint removal is slower than the cap: check the readiness probe (periodSeconds × failureThreshold) and raise ${DRAIN_DELAY_ENV}, or ${GRACE_PERIOD_ENV} together with terminationGracePeriodSeconds`,
        );
      }
      else log.info(fields, `drain delay ended (${reason}) after ${fields.durationMs} ms`);
    }

    if (servers > 0) {
      const upgraded = this.#drain.upgradedCount;
      log.info(
        { phase: 'drain', inFlight: this.#drain.inFlight, connections: this.#drain.connectionCount, upgraded, timeoutMs: Math.max(0, drainDeadlineAt - Date.now()) },
        `drain started; stopped listening, waiting for in-flight requests${upgraded > 0 ? ` and ${upgraded} upgraded (WebSocket/CONNECT) connections, which stay open until the app closes them or the drain deadline` : ''}`,
      );
      logDrainOutcome(await this.#drain.finish(drainDeadlineAt));
    }

    const timeoutMs = Math.max(0, Math.min(this.#handlerTimeoutMs, deadlineAt - Date.now()));
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    if (this.#handlers.length > 0) log.info({ phase: 'handlers', handlers: this.#handlers.length, timeoutMs }, 'shutdown handlers started');
    // Which handler is running, for the timeout message.
    let running = -1;
    const handlers = (async () => {
      for (running = 0; running < this.#handlers.length; running++) await this.#handlers[running]!();
      return 'done' as const;
    })();
    let code = 0;
    try {
      const outcome = this.#handlers.length === 0 ? await handlers : await Promise.race([handlers, deadline]);
      if (outcome === 'timeout') {
        code = this.#failureExitCode;
        const name = this.#handlers[running]?.name || 'anonymous';
        const which = `handler ${running + 1} of ${this.#handlers.length} (${name})`;
        log.error(
          { phase: 'shutdown', timeoutMs, exitCode: code, handler: { index: running, name } },
          `shutdown handlers did not finish within ${timeoutMs} ms: ${which} was still running; make it finish sooner or raise shutdownHandlerTimeoutMs (handlers get at most what is left of ${GRACE_PERIOD_ENV}: raise it too, together with terminationGracePeriodSeconds)`,
        );
      } else {
        log.info({ phase: 'shutdown', durationMs: Date.now() - started, exitCode: code }, 'shutdown complete');
      }
    } catch (error) {
      code = this.#failureExitCode;
      log.error({ phase: 'shutdown', err: error, durationMs: Date.now() - started, exitCode: code }, 'shutdown handler failed');
    } finally {
      clearTimeout(timer);
    }
    process.exit(code);
  }
}
