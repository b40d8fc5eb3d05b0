/**
 * Rate limiting for log records of repeated events: anything that a sender outside the process
 * controls (datagrams on the terminator socket, signals, failing probes) must not turn into one
 * log line each, or whoever can write to the IPC directory can fill the disk and drown the logs.
 *
 * Per event, in windows of `windowMs` (60 s) that start at the event's first occurrence:
 * 1. the first `burst` (5) occurrences are logged as usual;
 * 2. the rest are counted, not logged;
 * 3. the count is logged as one summary record — `{event, suppressed, sinceMs}` — when the window
 *    ends (an unref'd timer), at the next occurrence after it, or at `flush()` (the owner's close)
 *    or process exit, whichever comes first. Nothing is lost silently.
 * So an event logs at most `burst` + 1 records per window, whatever the rate. Event names must
 * come from a fixed set (they are the keys): never from what the sender sent.
 */
import type { LineLogger } from './logger.js';

/** Occurrences logged one by one per window. */
export const LOG_BURST = 5;
/** Length of a window: at most LOG_BURST records and one summary per event in it. */
const LOG_WINDOW_MS = 60_000;

type Level = 'debug' | 'info' | 'warn' | 'error';
type Fields = Readonly<Record<string, unknown>>;

/** One kind of repeated event. */
export interface RepeatedEvent {
  /** Stable name: the limiter's key and the summary's `event` field. */
  readonly event: string;
  /** Level of its records and of its summary. */
  readonly level: Level;
  /** What was not logged, in the plural, for the summary's message: "ignored datagrams". */
  readonly what: string;
  /** A numeric field of its records whose suppressed values the summary adds up (e.g. `count`). */
  readonly sum?: string;
}

export interface LogLimitOptions {
  readonly burst?: number;
  readonly windowMs?: number;
  /** Monotonic clock in ms (default `performance.now`). */
  readonly now?: () => number;
}

interface Window {
  readonly event: RepeatedEvent;
  readonly startedAt: number;
  logged: number;
  suppressed: number;
  firstSuppressedAt: number;
  total: number;
  timer: NodeJS.Timeout | undefined;
}

/** Limiters holding counts not yet logged: flushed when the process exits. */
const pending = new Set<LogLimiter>();
let exitHooked = false;
const flushPending = (): void => {
  for (const limiter of [...pending]) limiter.flush();
};

/** Logs repeated events through `log`, at most `burst` records and one summary per event per window. */
export class LogLimiter {
  readonly #log: LineLogger;
  readonly #burst: number;
  readonly #windowMs: number;
  readonly #now: () => number;
  readonly #windows = new Map<string, Window>();

  constructor(log: LineLogger, options: LogLimitOptions = {}) {
    this.#log = log;
    this.#burst = options.burst ?? LOG_BURST;
    this.#windowMs = options.windowMs ?? LOG_WINDOW_MS;
    this.#now = options.now ?? (() => performance.now());
  }

  /** Logs `fields` and `msg` at `event.level`, unless `event` is over its burst in this window. */
  log(event: RepeatedEvent, fields: Fields, msg: string): void {
    const now = this.#now();
    let window = this.#windows.get(event.event);
    if (window && now - window.startedAt >= this.#windowMs) {
      this.#close(window); // its timer has not run yet (a busy event loop): summarise it now
      window = undefined;
    }
    if (!window) {
      window = { event, startedAt: now, logged: 0, suppressed: 0, firstSuppressedAt: 0, total: 0, timer: undefined };
      this.#windows.set(event.event, window);
    }
    if (window.logged < this.#burst) {
      window.logged += 1;
      this.#log[event.level](fields, msg);
      return;
    }
    if (window.suppressed === 0) {
      window.firstSuppressedAt = now;
      const closing = window;
      closing.timer = setTimeout(() => this.#close(closing), Math.max(0, closing.startedAt + this.#windowMs - now));
      closing.timer.unref(); // a pending summary must never keep the process alive: exit flushes it
      pending.add(this);
      if (!exitHooked) {
        exitHooked = true;
        process.on('exit', flushPending);
      }
    }
    window.suppressed += 1;
    if (event.sum !== undefined) {
      const value = fields[event.sum];
      if (typeof value === 'number') window.total += value;
    }
  }

  /**
   * Logs the summaries of what is counted but not logged yet. The windows go on: occurrences
   * after a flush are still limited. Call it when the source closes; process exit calls it too.
   */
  flush(): void {
    for (const window of this.#windows.values()) this.#summarise(window);
    pending.delete(this);
  }

  #close(window: Window): void {
    this.#summarise(window);
    if (this.#windows.get(window.event.event) === window) this.#windows.delete(window.event.event);
    if (![...this.#windows.values()].some((open) => open.suppressed > 0)) pending.delete(this);
  }

  #summarise(window: Window): void {
    clearTimeout(window.timer);
    window.timer = undefined;
    if (window.suppressed === 0) return;
    const { event, suppressed, total } = window;
    const sinceMs = Math.round(this.#now() - window.firstSuppressedAt);
    const fields: Record<string, unknown> = { event: event.event, suppressed, sinceMs };
    if (event.sum !== undefined) fields[event.sum] = total;
    window.suppressed = 0;
    window.total = 0;
    this.#log[event.level](
      fields,
      `${suppressed} more ${event.what} in the last ${formatSeconds(sinceMs)} (logging the first ${this.#burst} in each ${formatSeconds(this.#windowMs)})`,
    );
  }
}

function formatSeconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}
