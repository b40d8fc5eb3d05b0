/**
 * Readiness and liveness checks: a registry of named checks that run concurrently on each probe,
 * each bounded by its own timeout, optionally cached, reporting why they fail.
 */
import { getEventListeners } from 'node:events';
import { MAX_TIMER_MS, checkNonNegativeInteger } from '../contract/duration.js';
import { UsageError } from '../contract/errors.js';

/**
 * Thrown by a check to say why it is not ready with a stable reason code: the probe reports
 * `<name>:<detail>` (e.g. `kafka:results_not_connected`). Any other error reports just `<name>`.
 * The message is shown only in verbose answers.
 */
export class NotReady extends Error {
  /** Reason code appended to the check name: letters, digits, `_`, `-` and `.`. */
  readonly detail: string;
  constructor(detail: string, message?: string, options?: { cause?: unknown }) {
    if (!CODE.test(detail)) {
      throw new UsageError(`NotReady detail ${JSON.stringify(detail)} must match ${String(CODE)} (it becomes part of a reason code)`);
    }
    super(message ?? detail, options);
    this.name = 'NotReady';
    this.detail = detail;
  }
}

/**
 * A check: resolves (with anything) when healthy; throws or rejects when not. `signal` aborts when
 * the check's timeout passes, so a check can cancel its I/O. A call that cannot be cancelled
 * should still settle eventually: until it does, probes answer `<name>:timeout` without calling
 * the check again (for at most 10 timeouts).
 */
export type Check = (signal: AbortSignal) => unknown;

/** Options of `addReadinessCheck` / `addLivenessCheck`. */
export interface CheckOptions {
  /**
   * A check still running after this many milliseconds fails with detail `timeout`; until that
   * call settles (or 10 timeouts have passed) probes answer `timeout` without starting another.
   * Default: 1000.
   */
  readonly timeoutMs?: number;
  /**
   * Reuse a result for this many milliseconds after it was obtained, so frequent probes do not
   * hammer a dependency. Default: 0 (run on every probe; concurrent probes still share one run).
   */
  readonly cacheMs?: number;
}

/** One check's outcome, as shown by `?verbose`. */
export interface CheckResult {
  readonly name: string;
  readonly ok: boolean;
  /** How long the run took, in whole milliseconds (of the run that produced a cached result). */
  readonly durationMs: number;
  /** The same with its unit and a decimal, as the Kubernetes API server prints durations: `1.2ms`, `1.5s`. */
  readonly duration: string;
  /** `ok`, or the error message. May carry dependency details: shown only in verbose answers. */
  readonly message: string;
  /** The reason code when failing: `<name>` or `<name>:<detail>`. */
  readonly reason?: string;
  /** True when the result came from the cache. */
  readonly cached?: boolean;
}

const CODE = /^[A-Za-z0-9_.-]+$/;

interface Entry {
  readonly name: string;
  readonly check: Check;
  readonly timeoutMs: number;
  readonly cacheMs: number;
  /** The run in flight, if one is (also after its timeout, until the call settles). */
  running: Run | undefined;
  /**
   * Handed to the next call; taken by a run that turns out asynchronous (its timeout aborts it),
   * and given back when that run settled in time with no listener left on its signal.
   */
  controller: AbortController | undefined;
  /** Its signal (the getter is not free on a busy probe path). */
  signal: AbortSignal | undefined;
  /** The last result, marked `cached`, and until when (performance.now() ms) it may be reused. */
  cached: { result: CheckResult; until: number } | undefined;
  /** The last run's result (also without a cache), for metrics: a scrape reads it, never runs the check. */
  last: CheckResult | undefined;
  /** Shared by the registry's entries: who hears of each run's result. */
  readonly listeners: Listeners;
}

/**
 * Told of each run's result as it comes in: a check that answered, failed or timed out. Not told
 * of cache hits or of probes that shared a run (or got `timeout` from a hung one): those repeat a
 * result already told. `elapsedMs` is the run's duration, unrounded.
 */
export type CheckObserver = (result: CheckResult, elapsedMs: number) => void;

interface Listeners {
  observer: CheckObserver | undefined;
}


/** `0.4ms`, `12ms`, `1.25s`: milliseconds to a tenth below a second, then seconds to a thousandth. */
export function formatDuration(ms: number): string {
  const tenths = Math.round(ms * 10) / 10;
  return tenths < 1000 ? `${tenths}ms` : `${Math.round(ms) / 1000}s`;
}

function failure(name: string, startedMs: number, error: unknown): CheckResult {
  const elapsed = performance.now() - startedMs;
  const durationMs = Math.round(elapsed);
  const duration = formatDuration(elapsed);
  if (error instanceof NotReady) return { name, ok: false, durationMs, duration, message: error.message, reason: `${name}:${error.detail}` };
  const message = error instanceof Error ? error.message || error.name : String(error);
  return { name, ok: false, durationMs, duration, message, reason: name };
}

function success(name: string, startedMs: number): CheckResult {
  const elapsed = performance.now() - startedMs;
  return { name, ok: true, durationMs: Math.round(elapsed), duration: formatDuration(elapsed), message: 'ok' };
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as PromiseLike<unknown>).then === 'function';
}

/** A check run in flight: when it must have answered (performance.now() ms), and what then. */
interface PendingRun {
  readonly deadline: number;
  readonly expire: () => void;
}

/**
 * The deadlines of all check runs in flight, served by one timer set for the earliest of them: a
 * timer per run would cost more than a cheap check itself on a busy probe path.
 */
class Deadlines {
  readonly #pending = new Set<PendingRun>();
  #timer: NodeJS.Timeout | undefined;
  #armedFor = Number.POSITIVE_INFINITY;

  add(run: PendingRun): void {
    this.#pending.add(run);
    if (run.deadline < this.#armedFor) this.#arm(run.deadline);
    else this.#timer!.ref();
  }

  /**
   * Forgets a run that answered. The timer stays (at worst it wakes once to find nothing), but
   * it no longer keeps the process alive once nothing is pending.
   */
  delete(run: PendingRun): void {
    this.#pending.delete(run);
    if (this.#pending.size === 0) this.#timer?.unref();
  }

  #arm(deadline: number): void {
    clearTimeout(this.#timer);
    this.#armedFor = deadline;
    this.#timer = setTimeout(() => this.#sweep(), Math.max(0, Math.ceil(deadline - performance.now())));
  }

  #sweep(): void {
    this.#timer = undefined;
    this.#armedFor = Number.POSITIVE_INFINITY;
    // setTimeout may fire up to a millisecond before a fractional deadline.
    const now = performance.now() + 1;
    const expired: PendingRun[] = [];
    let next = Number.POSITIVE_INFINITY;
    for (const run of this.#pending) {
      if (run.deadline <= now) expired.push(run);
      else if (run.deadline < next) next = run.deadline;
    }
    for (const run of expired) this.#pending.delete(run);
    if (next < this.#armedFor) this.#arm(next);
    for (const run of expired) {
      try {
        run.expire();
      } catch (error) {
        // Surfaces as it would have, without stranding the other expired runs.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}

const deadlines = new Deadlines();
const RESOLVED = Promise.resolve();

/** A set of named checks of one kind (readiness or liveness). */
export class CheckRegistry {
  readonly #entries: Entry[] = [];
  readonly #kind: string;
  readonly #listeners: Listeners = { observer: undefined };

  constructor(kind: string) {
    this.#kind = kind;
  }

  get size(): number {
    return this.#entries.length;
  }

  /** Tells `observer` of each run's result from now on (one observer: the metrics). */
  observe(observer: CheckObserver): void {
    this.#listeners.observer = observer;
  }

  /** Each check's last result, in registration order; checks that never ran are left out. */
  lastResults(): CheckResult[] {
    const results: CheckResult[] = [];
    for (const entry of this.#entries) if (entry.last !== undefined) results.push(entry.last);
    return results;
  }

  add(name: string, check: Check, options: CheckOptions = {}): void {
    if (typeof name !== 'string' || !CODE.test(name)) {
      throw new UsageError(`${this.#kind} check name ${JSON.stringify(name)} must match ${String(CODE)} (it becomes a reason code)`);
    }
    if (typeof check !== 'function') throw new UsageError(`${this.#kind} check ${name} must be a function`);
    if (this.#entries.some((entry) => entry.name === name)) {
      throw new UsageError(`a ${this.#kind} check named ${name} already exists: give each check its own name`);
    }
    const { timeoutMs = 1000, cacheMs = 0 } = options;
    checkNonNegativeInteger(timeoutMs, `${this.#kind} check ${name}: timeoutMs`, MAX_TIMER_MS);
    checkNonNegativeInteger(cacheMs, `${this.#kind} check ${name}: cacheMs`, MAX_TIMER_MS);
    this.#entries.push({ name, check, timeoutMs, cacheMs, running: undefined, controller: undefined, signal: undefined, cached: undefined, last: undefined, listeners: this.#listeners });
  }

  /**
   * Runs every check concurrently. Returns the results (in registration order) when every check
   * answered synchronously or from the cache; otherwise returns undefined and calls `later` with
   * them once the last check has answered or timed out.
   */
  run(later: (results: CheckResult[]) => void): CheckResult[] | undefined {
    const collector = new Collector(this.#entries.length, later);
    // One clock reading for all: the checks start together, and their durations count from here.
    const nowMs = performance.now();
    for (let index = 0; index < this.#entries.length; index += 1) this.#start(this.#entries[index]!, collector, index, nowMs);
    return collector.synchronousResults();
  }

  /**
   * Delivers the entry's result to `collector`: from the cache, from the run in flight, or from a
   * new run bounded by the timeout. Probes can come thousands of times a second on an app's own
   * port, so the hot path allocates little and skips what cannot matter: a fresh AbortController
   * for checks that answer synchronously (they reuse the entry's, which nothing aborts) and for
   * asynchronous ones that take no parameter and leave the signal alone (see `Run.settle`), the
   * deadline for synchronous ones.
   */
  #start(entry: Entry, collector: Collector, index: number, startedMs: number): void {
    if (entry.cached !== undefined && startedMs < entry.cached.until) {
      collector.deliver(index, entry.cached.result);
      return;
    }
    // Probes that arrive while a run is in flight share it instead of piling onto the dependency;
    // that holds after its timeout too, until the call settles or is given up on.
    const running = entry.running;
    if (running !== undefined) {
      if (!running.abandoned()) {
        running.wait(collector, index);
        return;
      }
      entry.running = undefined;
    }
    if (entry.controller === undefined) {
      entry.controller = new AbortController();
      entry.signal = entry.controller.signal;
    }
    const controller = entry.controller;
    const signal = entry.signal!;
    let value: unknown;
    try {
      value = entry.check(signal);
    } catch (error) {
      collector.deliver(index, record(entry, failure(entry.name, startedMs, error), startedMs));
      return;
    }
    if (!isThenable(value)) {
      collector.deliver(index, record(entry, success(entry.name, startedMs), startedMs));
      return;
    }
    // This run owns the controller now (its timeout aborts it); the next call gets another one.
    entry.controller = undefined;
    entry.signal = undefined;
    const run = new Run(entry, startedMs, controller, signal, collector, index);
    entry.running = run;
    try {
      value.then(
        () => run.settle(success(entry.name, startedMs)),
        (error: unknown) => run.settle(failure(entry.name, startedMs, error)),
      );
    } catch (error) {
      // A hand-made thenable whose then() throws: a failed check, not a failed probe.
      run.settle(failure(entry.name, startedMs, error));
      return;
    }
    // The deadline is armed one microtask later: an async check that settles at once (an async
    // function with nothing to await) has settled by then, and skips the timer bookkeeping,
    // which on a busy probe path costs more than such a check. The deadline itself still counts
    // from startedMs.
    // (A promise reaction, not queueMicrotask: Node wraps the latter for async_hooks.)
    void RESOLVED.then(() => run.arm());
  }
}

/** A run's result: kept as the entry's last, told to the observer (if any), cached. */
function record(entry: Entry, result: CheckResult, startedMs: number): CheckResult {
  entry.last = result;
  const observer = entry.listeners.observer;
  if (observer !== undefined) observer(result, performance.now() - startedMs);
  return remember(entry, result);
}

/** Keeps a result for `cacheMs`, marked `cached` for the probes that reuse it. */
function remember(entry: Entry, result: CheckResult): CheckResult {
  if (entry.cacheMs > 0) entry.cached = { result: { ...result, cached: true }, until: performance.now() + entry.cacheMs };
  return result;
}

/** Gathers one probe's results; hands them over at once or, once the last one is in, later. */
class Collector {
  readonly #results: CheckResult[];
  #remaining: number;
  #synchronous = true;
  readonly #later: (results: CheckResult[]) => void;

  constructor(size: number, later: (results: CheckResult[]) => void) {
    this.#results = new Array<CheckResult>(size);
    this.#remaining = size;
    this.#later = later;
  }

  deliver(index: number, result: CheckResult): void {
    this.#results[index] = result;
    this.#remaining -= 1;
    if (this.#remaining === 0 && !this.#synchronous) this.#later(this.#results);
  }

  /** The results if all came in synchronously; from now on the last delivery calls `later`. */
  synchronousResults(): CheckResult[] | undefined {
    this.#synchronous = false;
    return this.#remaining === 0 ? this.#results : undefined;
  }
}

/**
 * How many timeouts a call that timed out may stay unsettled before it is given up on and a new
 * call starts: bounds both the pile-up (one call per window) and how long a lost callback can
 * keep a check failing.
 */
const ABANDON_AFTER_TIMEOUTS = 10;

/**
 * An asynchronous check run in flight, shared by the probes that arrive meanwhile. After its
 * timeout it stays on the entry until the call settles: probes then get `<name>:timeout` at once
 * instead of starting another call that would queue behind the hung one (a pg pool's queue, a
 * Redis client's offline queue).
 */
class Run implements PendingRun {
  readonly deadline: number;
  readonly #entry: Entry;
  readonly #startedMs: number;
  readonly #controller: AbortController;
  readonly #signal: AbortSignal;
  readonly #waiting: Array<Collector | number>;
  /** True once the waiters got a result (the call's, or the timeout). */
  #answered = false;
  #settled = false;
  #armed = false;

  constructor(entry: Entry, startedMs: number, controller: AbortController, signal: AbortSignal, collector: Collector, index: number) {
    this.deadline = startedMs + entry.timeoutMs;
    this.#entry = entry;
    this.#startedMs = startedMs;
    this.#controller = controller;
    this.#signal = signal;
    this.#waiting = [collector, index];
  }

  /** Starts the timeout, unless the call has settled already. */
  arm(): void {
    if (this.#settled || this.#armed) return;
    this.#armed = true;
    deadlines.add(this);
  }

  wait(collector: Collector, index: number): void {
    if (this.#answered) collector.deliver(index, remember(this.#entry, this.#timedOut(true)));
    else this.#waiting.push(collector, index);
  }

  /** True when the call timed out so long ago that a new one should start. */
  abandoned(): boolean {
    return this.#answered && performance.now() >= this.#startedMs + ABANDON_AFTER_TIMEOUTS * this.#entry.timeoutMs;
  }

  #timedOut(stillPending: boolean): CheckResult {
    const { name, timeoutMs } = this.#entry;
    const message = stillPending
      ? `no answer within ${timeoutMs} ms: the call started ${Math.round(performance.now() - this.#startedMs)} ms ago is still pending, so no new one was started`
      : `no answer within ${timeoutMs} ms`;
    return failure(name, this.#startedMs, new NotReady('timeout', message));
  }

  expire(): void {
    const result = this.#timedOut(false);
    this.#controller.abort(new NotReady('timeout', result.message));
    this.#answer(result);
  }

  /** The call settled: answers the waiters unless the timeout already did, and frees the entry. */
  settle(result: CheckResult): void {
    if (this.#settled) return;
    this.#settled = true;
    if (this.#armed) deadlines.delete(this);
    const entry = this.#entry;
    if (entry.running === this) entry.running = undefined;
    // Creating an AbortSignal costs microseconds, more than a cheap check: a check that declares
    // no parameter (most ignore the signal) gets this one again if nothing aborted or listens to
    // it. Checks that declare one get a fresh signal each run (they may hand it to
    // AbortSignal.any, whose dependants pile up on a long-lived signal in Node 20).
    const signal = this.#signal;
    if (entry.check.length === 0 && entry.controller === undefined && !signal.aborted && getEventListeners(signal, 'abort').length === 0) {
      entry.controller = this.#controller;
      entry.signal = signal;
    }
    this.#answer(result);
  }

  #answer(result: CheckResult): void {
    if (this.#answered) return; // the check answered after its timeout
    this.#answered = true;
    record(this.#entry, result, this.#startedMs);
    for (let i = 0; i < this.#waiting.length; i += 2) (this.#waiting[i] as Collector).deliver(this.#waiting[i + 1] as number, result);
    this.#waiting.length = 0;
  }
}
