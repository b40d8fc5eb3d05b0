/**
 * Work that is not HTTP (a job, a message being handled, a batch being flushed), tracked so that
 * shutdown waits for it as it waits for requests in flight: `deputy.track(work)` counts it while
 * it runs; at shutdown the Deputy waits, in parallel with the HTTP drain, until none is left or
 * the drain deadline passes, and reports what was still running then (count and names).
 */
import { UsageError } from '../contract/errors.js';

/** Options of `deputy.track(work, options)`. */
export interface TrackOptions {
  /**
   * Shown in the logs and the shutdown record when the work is cut at the deadline. Default: the
   * function's name, else `anonymous`.
   */
  readonly name?: string;
}

/** What `deputy.track()` takes: a promise, or a function called with `deputy.signal` returning one. */
export type Work<T> = PromiseLike<T> | ((signal: AbortSignal) => T | PromiseLike<T>);

/** How waiting for the tracked work ended. */
export interface TrackedOutcome {
  readonly outcome: 'finished' | 'deadline';
  /** Names of the work still running at the deadline. */
  readonly cut: readonly string[];
}

/** The most names a log record or the shutdown record lists. */
const MAX_NAMES = 20;

interface Job {
  readonly name: string;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as PromiseLike<unknown>).then === 'function';
}

export class TrackedWork {
  readonly #running = new Set<Job>();
  #onChange: (() => void) | undefined;
  #shutdownBegan = false;
  /** Finished work is counted from shutdown start to the end of the drain. */
  #counting = false;
  #inFlightAtStart = 0;
  #startedDuringShutdown = 0;
  #finished = 0;
  #failed = 0;
  #cut: readonly string[] = [];

  get inFlight(): number {
    return this.#running.size;
  }

  /**
   * Starts tracking `work`; returns a promise settling as it does (a new promise, so a rejection
   * nobody handles still surfaces as unhandled).
   */
  track<T>(work: Work<T>, options: TrackOptions, signal: AbortSignal): { promise: Promise<Awaited<T>>; name: string } {
    const name = options.name ?? ((typeof work === 'function' && work.name) || 'anonymous');
    if (typeof name !== 'string') throw new UsageError(`deputy.track(work, { name }): name must be a string, got ${typeof name}`);
    let started: PromiseLike<T> | T;
    if (typeof work === 'function') {
      try {
        started = work(signal);
      } catch (error) {
        return { promise: Promise.reject(error), name };
      }
    } else if (isThenable(work)) {
      started = work;
    } else {
      throw new UsageError('deputy.track(work) takes a promise, or a function called with deputy.signal that returns one');
    }
    const job: Job = { name };
    this.#running.add(job);
    if (this.#shutdownBegan) this.#startedDuringShutdown += 1;
    const promise = Promise.resolve(started).then(
      (value) => {
        this.#done(job, false);
        return value;
      },
      (error: unknown) => {
        this.#done(job, true);
        throw error;
      },
    );
    return { promise, name };
  }

  #done(job: Job, failed: boolean): void {
    if (!this.#running.delete(job)) return;
    if (this.#counting) {
      this.#finished += 1;
      if (failed) this.#failed += 1;
    }
    this.#onChange?.();
  }

  /** Shutdown began: count from now on. */
  begin(): void {
    if (this.#shutdownBegan) return;
    this.#shutdownBegan = true;
    this.#counting = true;
    this.#inFlightAtStart = this.#running.size;
  }

  /** Resolves once no tracked work is running, or at `deadlineAt` (ms since epoch) with what is still running. */
  async settle(deadlineAt: number): Promise<TrackedOutcome> {
    const finished = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(this.#running.size === 0), Math.max(0, deadlineAt - Date.now()));
      const check = (): void => {
        if (this.#running.size > 0) return;
        clearTimeout(timer);
        resolve(true);
      };
      this.#onChange = check;
      check();
    });
    this.#onChange = undefined;
    // Counted once: work finishing later (during the handlers) is not "finished in time".
    this.#counting = false;
    this.#cut = finished ? [] : [...this.#running].map((job) => job.name);
    return { outcome: finished ? 'finished' : 'deadline', cut: this.#cut.slice(0, MAX_NAMES) };
  }

  /** The figures for the shutdown record. */
  stats(): { inFlightAtStart: number; startedDuringShutdown: number; finished: number; failed: number; cut: number; cutNames: string[] } {
    return {
      inFlightAtStart: this.#inFlightAtStart,
      startedDuringShutdown: this.#startedDuringShutdown,
      finished: this.#finished,
      failed: this.#failed,
      cut: this.#cut.length,
      cutNames: this.#cut.slice(0, MAX_NAMES),
    };
  }
}
