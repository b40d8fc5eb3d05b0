/**
 * One shutdown, phase by phase, under one deadline (shutdown-budget.ts splits it):
 * 1. delay — readiness already fails; attached servers keep accepting and serving, every
 *    response says `Connection: close`, until endpoint removal has propagated (at least
 *    drainDelayMs, then a quiet window, within a cap). Skipped after a crash: nothing removes
 *    the endpoint then until the container exits or the readiness probe has failed enough times,
 *    so waiting would only keep a process in an undefined state taking new requests;
 * 2. drain — stop listening, let requests in flight and tracked work finish, in parallel, until
 *    the drain deadline; destroy the connections left then, report the work left;
 * 3. handlers — in the order added, under min(shutdownHandlerTimeoutMs, what is left);
 * then one final record (shutdown-record.ts), the last log line, and the exit. Something that
 * ends the process earlier — a handler's own process.exit(n), a crash during shutdown — still
 * gets the record, with the phase it cut short marked `exited` or `interrupted`.
 */
import { sdkLog } from '../log/logger.js';
import { SETTINGS } from '../contract/settings.js';
import type { Drain } from './drain.js';
import { logDelayOutcome, logDrainOutcome, type DrainOutcome } from './drain-outcome.js';
import { handlersTimeoutMs, shutdownBudget, type ShutdownBudget } from './shutdown-budget.js';
import { endingAfterHandlers, type DelayReason, type DeputyShutdown, type DrainPhaseOutcome, type Ending, type HandlersOutcome, type ShutdownPhase, type ShutdownRecord } from './shutdown-record.js';
import type { TrackedWork } from './tracked-work.js';
import type { ShutdownHandler } from './types.js';

const GRACE = SETTINGS.gracePeriod.env;

export interface ShutdownSettings {
  readonly gracePeriodMs: number;
  readonly drainDelayMs: number;
  readonly drainQuietMs: number;
  readonly handlerTimeoutMs: number;
  readonly failureExitCode: number;
}

export interface ShutdownParts {
  readonly drain: Drain;
  readonly tracked: TrackedWork;
  readonly handlers: readonly ShutdownHandler[];
  /** Called as `drain` and `handlers` begin, and with `done` and the record at the end (the Deputy announces `delay`). */
  readonly onPhase: (phase: ShutdownPhase, record?: ShutdownRecord) => void;
}

export class Shutdown {
  readonly #how: DeputyShutdown;
  readonly #parts: ShutdownParts;
  readonly #settings: ShutdownSettings;
  readonly #budget: ShutdownBudget;
  readonly #requestsInFlightAtStart: number;
  #phase: ShutdownPhase = 'delay';
  #phaseStartedAt: number;
  #delay: { durationMs: number; reason: DelayReason } = { durationMs: 0, reason: 'not_reached' };
  #drainPhase: { durationMs: number; outcome: DrainPhaseOutcome } = { durationMs: 0, outcome: 'not_reached' };
  #handlersPhase: { durationMs: number; outcome: HandlersOutcome } = { durationMs: 0, outcome: 'not_reached' };
  #drainOutcome: DrainOutcome | undefined;
  #trackedCut = 0;
  /** Set once the final record is written: nothing is reported twice. */
  #ended = false;
  readonly #onExit = (code: number): void => this.#exitedMeanwhile(code);

  /** Begins the shutdown at once: phase `delay`, tracked work counted. Observers hear of `delay` from the Deputy. */
  constructor(how: DeputyShutdown, parts: ShutdownParts, settings: ShutdownSettings) {
    this.#how = how;
    this.#parts = parts;
    this.#settings = settings;
    const startedAt = Date.now();
    this.#phaseStartedAt = startedAt;
    this.#budget = shutdownBudget({
      startedAt,
      gracePeriodMs: settings.gracePeriodMs,
      drainDelayMs: settings.drainDelayMs,
      handlerCount: parts.handlers.length,
      shutdownHandlerTimeoutMs: settings.handlerTimeoutMs,
    });
    this.#requestsInFlightAtStart = parts.drain.inFlight;
    parts.tracked.begin();
    process.on('exit', this.#onExit);
  }

  get phase(): ShutdownPhase {
    return this.#phase;
  }

  /** Runs the phases; ends the process. Logs the start synchronously. */
  async run(): Promise<void> {
    const { drain, tracked, handlers } = this.#parts;
    const { cause, signal } = this.#how;
    sdkLog().info(
      {
        phase: 'shutdown',
        cause,
        signal,
        handlers: handlers.length,
        servers: drain.serverCount,
        inFlight: this.#requestsInFlightAtStart,
        tracked: tracked.inFlight,
        gracePeriodMs: this.#settings.gracePeriodMs,
        timeoutMs: this.#settings.handlerTimeoutMs,
      },
      'shutdown started; readiness now failing',
    );
    try {
      // Let the state change be observed before anything else runs, even synchronous handlers.
      await Promise.resolve();
      await this.#runDelay();
      await this.#runDrain();
      this.#end(await this.#runHandlers());
    } catch (error) {
      // A bug of ours (handlers' errors are caught where they run): still end, and say so.
      this.#interrupt('interrupted');
      this.#end({ code: this.#settings.failureExitCode, ending: { level: 'error', msg: `shutdown failed unexpectedly in the ${this.#phase} phase`, fields: { err: error } } });
    }
  }

  #enter(phase: ShutdownPhase): void {
    this.#phase = phase;
    this.#phaseStartedAt = Date.now();
    this.#parts.onPhase(phase);
  }

  async #runDelay(): Promise<void> {
    const log = sdkLog();
    const { drain } = this.#parts;
    const { drainDelayMs, drainQuietMs } = this.#settings;
    const startedAt = this.#budget.startedAt;
    if (this.#how.cause === 'crash') {
      drain.begin();
      this.#delay = { durationMs: 0, reason: 'crash' };
      log.info({ phase: 'delay', reason: 'crash' }, 'drain delay skipped after a crash: the endpoint is not being removed, so waiting would only keep serving from a process in an undefined state');
      return;
    }
    if (drain.serverCount === 0 && drainDelayMs === 0) {
      this.#delay = { durationMs: 0, reason: 'skipped' };
      return;
    }
    drain.begin();
    for (const warning of this.#budget.warnings) log.warn({ phase: 'delay', ...warning.fields }, warning.message);
    const capMs = this.#budget.delayCapAt - startedAt;
    log.info({ phase: 'delay', drainDelayMs, drainQuietMs, capMs }, 'drain delay started; still serving new connections, responses now say Connection: close');
    const reason = await drain.settle(startedAt, drainDelayMs, drainQuietMs, this.#budget.delayCapAt);
    const last = drain.lastConnectionAt;
    const durationMs = Date.now() - startedAt;
    this.#delay = { durationMs, reason };
    logDelayOutcome({ reason, durationMs, lastConnectionAgoMs: last ? Date.now() - last : null }, drainDelayMs >= capMs);
  }

  /** HTTP drain and tracked work in parallel, both bounded by the drain deadline. */
  async #runDrain(): Promise<void> {
    this.#enter('drain');
    const log = sdkLog();
    const { drain, tracked } = this.#parts;
    const deadlineAt = this.#budget.drainDeadlineAt;
    const servers = drain.serverCount;
    const work = tracked.inFlight;
    const http = async (): Promise<void> => {
      if (servers === 0) return;
      const upgraded = drain.upgradedCount;
      log.info(
        { phase: 'drain', inFlight: drain.inFlight, connections: drain.connectionCount, upgraded, timeoutMs: Math.max(0, deadlineAt - Date.now()) },
        `drain started; stopped listening, waiting for in-flight requests${upgraded > 0 ? ` and ${upgraded} upgraded (WebSocket/CONNECT) connections, which stay open until the app closes them or the drain deadline` : ''}`,
      );
      this.#drainOutcome = await drain.finish(deadlineAt);
      logDrainOutcome(this.#drainOutcome);
    };
    const trackedWork = async (): Promise<boolean> => {
      if (work > 0) log.info({ phase: 'drain', tracked: work, timeoutMs: Math.max(0, deadlineAt - Date.now()) }, `waiting for ${work} tracked work to finish`);
      const { outcome, cut } = await tracked.settle(deadlineAt);
      const stats = tracked.stats();
      this.#trackedCut = stats.cut;
      if (outcome === 'deadline') {
        log.warn(
          { phase: 'drain', tracked: stats },
          `drain deadline reached with ${stats.cut} tracked work still running (${cut.join(', ')}${stats.cut > cut.length ? ', …' : ''}); the exit status will be failureExitCode: make the work stop when deputy.signal aborts, or raise ${GRACE} together with terminationGracePeriodSeconds`,
        );
      } else if (work > 0 || stats.finished > 0) {
        log.info({ phase: 'drain', tracked: stats }, 'tracked work finished');
      }
      return outcome === 'deadline';
    };
    const [, workCut] = await Promise.all([http(), trackedWork()]);
    const deadline = workCut || this.#drainOutcome?.outcome === 'deadline';
    this.#drainPhase = { durationMs: Date.now() - this.#phaseStartedAt, outcome: deadline ? 'deadline' : servers === 0 && work === 0 ? 'skipped' : 'drained' };
  }

  /** Runs the handlers; returns how the shutdown ends. */
  async #runHandlers(): Promise<{ code: number; ending: Ending }> {
    this.#enter('handlers');
    const log = sdkLog();
    const { handlers } = this.#parts;
    const { failureExitCode, handlerTimeoutMs } = this.#settings;
    const timeoutMs = handlersTimeoutMs(this.#budget, handlerTimeoutMs, Date.now());
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    if (handlers.length > 0) log.info({ phase: 'handlers', handlers: handlers.length, timeoutMs }, 'shutdown handlers started');
    // Which handler is running, for the timeout message.
    let running = -1;
    const all = (async () => {
      for (running = 0; running < handlers.length; running++) await handlers[running]!();
      return 'done' as const;
    })();
    const ended = (outcome: HandlersOutcome): void => {
      this.#handlersPhase = { durationMs: Date.now() - this.#phaseStartedAt, outcome };
    };
    try {
      const outcome = handlers.length === 0 ? await all : await Promise.race([all, deadline]);
      if (outcome === 'timeout') {
        ended('timeout');
        const name = handlers[running]?.name || 'anonymous';
        const which = `handler ${running + 1} of ${handlers.length} (${name})`;
        return {
          code: failureExitCode,
          ending: {
            level: 'error',
            msg: `shutdown handlers did not finish within ${timeoutMs} ms: ${which} was still running; make it finish sooner or raise shutdownHandlerTimeoutMs (handlers get at most what is left of ${GRACE}: raise it too, together with terminationGracePeriodSeconds)`,
            fields: { timeoutMs, handler: { index: running, name } },
          },
        };
      }
      ended(handlers.length === 0 ? 'none' : 'done');
    } catch (error) {
      ended('failed');
      return { code: failureExitCode, ending: { level: 'error', msg: 'shutdown handler failed', fields: { err: error } } };
    } finally {
      clearTimeout(timer);
    }
    return endingAfterHandlers(this.#trackedCut, this.#how, failureExitCode);
  }

  /** Writes the final record and exits. */
  #end({ code, ending }: { code: number; ending: Ending }): void {
    this.#report(code, ending);
    process.exit(code);
  }

  /** A crash during shutdown: the state is undefined from now on, so exit at once. */
  crashedAgain(error: unknown, origin: string): void {
    if (this.#ended) return;
    this.#interrupt('interrupted');
    const code = this.#settings.failureExitCode;
    this.#report(code, { level: 'fatal', msg: `${origin === 'unhandledRejection' ? 'unhandled rejection' : 'uncaught exception'} during shutdown (${this.#phase} phase); exiting now`, fields: { err: error, origin } });
    process.exit(code);
  }

  /** The process is exiting without us (a handler's process.exit(n), an empty event loop): report it. */
  #exitedMeanwhile(code: number): void {
    if (this.#ended) return;
    this.#interrupt(this.#phase === 'handlers' ? 'exited' : 'interrupted');
    this.#report(code, { level: code === 0 ? 'info' : 'error', msg: `shutdown ended by process.exit(${code}) during the ${this.#phase} phase` });
  }

  /** Marks the phase running now as cut short. */
  #interrupt(outcome: 'interrupted' | 'exited'): void {
    const durationMs = Date.now() - this.#phaseStartedAt;
    if (this.#phase === 'delay') this.#delay = { durationMs, reason: 'interrupted' };
    else if (this.#phase === 'drain') this.#drainPhase = { durationMs, outcome: 'interrupted' };
    else if (this.#phase === 'handlers') this.#handlersPhase = { durationMs, outcome };
  }

  #report(code: number, ending: Ending): void {
    this.#ended = true;
    process.off('exit', this.#onExit);
    this.#phase = 'done';
    const record = this.record(code);
    this.#parts.onPhase('done', record);
    sdkLog()[ending.level]({ phase: 'shutdown', ...record, ...ending.fields }, ending.msg);
  }

  /** The shutdown record as of now, with `exitCode`. */
  record(exitCode: number): ShutdownRecord {
    const drained = this.#drainOutcome;
    const { cause, signal } = this.#how;
    return {
      cause,
      ...(signal === undefined ? {} : { signal }),
      durationMs: Date.now() - this.#budget.startedAt,
      exitCode,
      phases: { delay: this.#delay, drain: this.#drainPhase, handlers: { ...this.#handlersPhase, count: this.#parts.handlers.length } },
      requests: { inFlightAtStart: this.#requestsInFlightAtStart, cut: drained?.requestsCut ?? 0 },
      connections: {
        closedGracefully: drained?.closedGracefully ?? 0,
        closedIdle: drained?.closedIdle ?? 0,
        destroyed: drained?.destroyed ?? 0,
        upgradedCut: drained?.upgradedCut ?? 0,
      },
      tracked: this.#parts.tracked.stats(),
    };
  }
}
