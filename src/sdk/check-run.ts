/**
 * One run of a check, and how its result reaches the probes waiting for it. A probe starts every
 * check of its kind at once (src/sdk/checks.ts); each result is delivered to the probe's
 * `Collector` at once (from the cache, or a check that answered synchronously), or later by the
 * `Run` of an asynchronous check, which bounds the call by its timeout (one shared timer for all
 * runs, `Deadlines`) and is shared by the probes that arrive while it is in flight.
 */
import { getEventListeners } from 'node:events';
import { NotReady, failure, type Check, type CheckResult } from './check-result.js';

/** One registered check, and what it has in flight and remembers. */
export interface Entry {
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

export interface Listeners {
  observer: CheckObserver | undefined;
}

export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as PromiseLike<unknown>).then === 'function';
}

/** A run's result: kept as the entry's last, told to the observer (if any), cached. */
export function record(entry: Entry, result: CheckResult, startedMs: number): CheckResult {
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
export class Collector {
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
export class Run implements PendingRun {
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
