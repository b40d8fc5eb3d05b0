/**
 * What a check is and what it answers: the check function, `NotReady` (a failure with a reason
 * code), and the result each run produces, as `?verbose` shows it and the metrics read it.
 */
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
    if (!REASON_CODE.test(detail)) {
      throw new UsageError(`NotReady detail ${JSON.stringify(detail)} must match ${String(REASON_CODE)} (it becomes part of a reason code)`);
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

/** What a check name and a NotReady detail may contain: both become reason codes. */
export const REASON_CODE = /^[A-Za-z0-9_.-]+$/;

/** `0.4ms`, `12ms`, `1.25s`: milliseconds to a tenth below a second, then seconds to a thousandth. */
export function formatDuration(ms: number): string {
  const tenths = Math.round(ms * 10) / 10;
  return tenths < 1000 ? `${tenths}ms` : `${Math.round(ms) / 1000}s`;
}

/** The result of a run that threw, rejected or timed out, timed from `startedMs` (performance.now()). */
export function failure(name: string, startedMs: number, error: unknown): CheckResult {
  const elapsed = performance.now() - startedMs;
  const durationMs = Math.round(elapsed);
  const duration = formatDuration(elapsed);
  if (error instanceof NotReady) return { name, ok: false, durationMs, duration, message: error.message, reason: `${name}:${error.detail}` };
  const message = error instanceof Error ? error.message || error.name : String(error);
  return { name, ok: false, durationMs, duration, message, reason: name };
}

/** The result of a run that answered, timed from `startedMs` (performance.now()). */
export function success(name: string, startedMs: number): CheckResult {
  const elapsed = performance.now() - startedMs;
  return { name, ok: true, durationMs: Math.round(elapsed), duration: formatDuration(elapsed), message: 'ok' };
}
