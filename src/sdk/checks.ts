/**
 * Readiness and liveness checks: a registry of named checks that run concurrently on each probe,
 * each bounded by its own timeout, optionally cached, reporting why they fail. What a check
 * answers is src/sdk/check-result.ts; one run of it, src/sdk/check-run.ts.
 */
import { MAX_TIMER_MS, checkNonNegativeInteger } from '../contract/duration.js';
import { UsageError } from '../contract/errors.js';
import { REASON_CODE, failure, success, type Check, type CheckResult } from './check-result.js';
import { Collector, Run, isThenable, record, type CheckObserver, type Entry, type Listeners } from './check-run.js';

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
    if (typeof name !== 'string' || !REASON_CODE.test(name)) {
      throw new UsageError(`${this.#kind} check name ${JSON.stringify(name)} must match ${String(REASON_CODE)} (it becomes a reason code)`);
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
