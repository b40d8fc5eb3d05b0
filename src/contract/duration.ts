import { UsageError } from './errors.js';

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Parses `500ms`, `5s`, `1.5s`, `1m`, `1h` or a bare number of milliseconds into milliseconds.
 * `what` names the flag or environment variable in the error, e.g. `--timeout`.
 */
export function parseDuration(value: string, what: string): number {
  const match = /^\s*([0-9]+(?:\.[0-9]+)?)\s*(ms|s|m|h)?\s*$/.exec(value);
  if (!match) {
    throw new UsageError(
      `${what}: invalid duration ${JSON.stringify(value)}; use e.g. 500ms, 5s, 1m or a number of milliseconds`,
    );
  }
  const ms = Number(match[1]) * UNIT_MS[match[2] ?? 'ms']!;
  if (!Number.isFinite(ms) || ms > 2_147_483_647) {
    throw new UsageError(`${what}: duration ${JSON.stringify(value)} is too long (at most 24 days)`);
  }
  return Math.round(ms);
}

/** Node's timers hold at most 2^31 − 1 ms (about 24.8 days). */
export const MAX_TIMER_MS = 2_147_483_647;

/** Option validation shared by the Deputy and the checks: an integer from 0 to `max`, else a UsageError naming it. */
export function checkNonNegativeInteger(value: number, what: string, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new UsageError(`${what} must be an integer from 0 to ${max}, got ${String(value)}`);
  }
}
