/** What the fault tests read off a child: its stderr size, stdout lines, and rate-limit summaries. */
import type { Child, LogRecord } from '../helpers.js';

/** Counts the bytes the child writes to stderr from now on. */
export function stderrBytes(child: Child): () => number {
  let bytes = 0;
  child.process.stderr!.on('data', (chunk: string | Buffer) => (bytes += Buffer.byteLength(chunk)));
  return () => bytes;
}


/** The rate limiter's summary records for `event`. */
export const summariesOf = (logs: readonly LogRecord[], event: string): LogRecord[] =>
  logs.filter((record) => record.event === event && typeof record.suppressed === 'number');

/** Occurrences the summaries of `event` report as not logged one by one. */
export const suppressedCount = (logs: readonly LogRecord[], event: string): number =>
  summariesOf(logs, event).reduce((total, record) => total + (record.suppressed as number), 0);

/** Records whose message starts with `prefix`. */
export const withMsg = (logs: readonly LogRecord[], prefix: string): LogRecord[] =>
  logs.filter((record) => typeof record.msg === 'string' && record.msg.startsWith(prefix));
