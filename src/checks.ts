/**
 * Readiness and liveness checks: a registry of named checks that run concurrently on each probe,
 * each bounded by its own timeout, optionally cached, reporting why they fail.
 */
import { UsageError } from './errors.js';

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
 * the check's timeout passes, so a check can cancel its I/O.
 */
export type Check = (signal: AbortSignal) => unknown;

/** Options of `addReadinessCheck` / `addLivenessCheck`. */
export interface CheckOptions {
  /** A check still running after this many milliseconds fails with detail `timeout`. Default: 1000. */
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
  /** How long the run took, in milliseconds (of the run that produced a cached result). */
  readonly durationMs: number;
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
  running: Promise<CheckResult> | undefined;
  cached: { result: CheckResult; until: number } | undefined;
}

function checkDuration(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > 2_147_483_647) {
    throw new UsageError(`${what} must be an integer number of milliseconds from 0 to 2147483647, got ${String(value)}`);
  }
}

function failure(name: string, startedMs: number, error: unknown): CheckResult {
  const durationMs = Math.round(performance.now() - startedMs);
  if (error instanceof NotReady) return { name, ok: false, durationMs, message: error.message, reason: `${name}:${error.detail}` };
  const message = error instanceof Error ? error.message || error.name : String(error);
  return { name, ok: false, durationMs, message, reason: name };
}

/** Runs one check under its timeout; never rejects, never settles later than the timeout. */
function runOnce(entry: Entry): Promise<CheckResult> {
  const startedMs = performance.now();
  const controller = new AbortController();
  return new Promise<CheckResult>((resolve) => {
    const timer = setTimeout(() => {
      const error = new NotReady('timeout', `no answer within ${entry.timeoutMs} ms`);
      controller.abort(error);
      resolve(failure(entry.name, startedMs, error));
    }, entry.timeoutMs);
    const settle = (result: CheckResult): void => {
      clearTimeout(timer);
      resolve(result);
    };
    try {
      Promise.resolve(entry.check(controller.signal)).then(
        () => settle({ name: entry.name, ok: true, durationMs: Math.round(performance.now() - startedMs), message: 'ok' }),
        (error: unknown) => settle(failure(entry.name, startedMs, error)),
      );
    } catch (error) {
      settle(failure(entry.name, startedMs, error));
    }
  });
}

/** A set of named checks of one kind (readiness or liveness). */
export class CheckRegistry {
  readonly #entries: Entry[] = [];
  readonly #kind: string;

  constructor(kind: string) {
    this.#kind = kind;
  }

  get size(): number {
    return this.#entries.length;
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
    checkDuration(timeoutMs, `${this.#kind} check ${name}: timeoutMs`);
    checkDuration(cacheMs, `${this.#kind} check ${name}: cacheMs`);
    this.#entries.push({ name, check, timeoutMs, cacheMs, running: undefined, cached: undefined });
  }

  /** Runs every check concurrently; resolves within the longest timeout, in registration order. */
  run(): Promise<CheckResult[]> {
    return Promise.all(this.#entries.map((entry) => this.#result(entry)));
  }

  #result(entry: Entry): Promise<CheckResult> {
    const now = performance.now();
    if (entry.cached && now < entry.cached.until) return Promise.resolve({ ...entry.cached.result, cached: true });
    // Probes that arrive while a run is in flight share it instead of piling onto the dependency.
    if (entry.running) return entry.running;
    const running = runOnce(entry).then((result) => {
      entry.running = undefined;
      if (entry.cacheMs > 0) entry.cached = { result, until: performance.now() + entry.cacheMs };
      return result;
    });
    entry.running = running;
    return running;
  }
}
