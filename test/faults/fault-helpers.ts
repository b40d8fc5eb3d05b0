/** What the fault tests read off a child: its stderr size, stdout lines, and rate-limit summaries. */
import type { Child, LogRecord } from '../helpers.js';

/** Counts the bytes the child writes to stderr from now on. */
export function stderrBytes(child: Child): () => number {
  let bytes = 0;
  child.process.stderr!.on('data', (chunk: string | Buffer) => (bytes += Buffer.byteLength(chunk)));
  return () => bytes;
}

/** Resolves once `line` is among the child's stdout lines; rejects after `timeoutMs` or at EOF. */
export function waitForStdout(child: Child, line: string, timeoutMs = 10_000): Promise<void> {
  if (child.stdout.includes(line)) return Promise.resolve();
  const stream = child.process.stdout!;
  return new Promise((resolve, reject) => {
    const finish = (error?: Error): void => {
      clearTimeout(timer);
      stream.off('data', onData);
      stream.off('close', onClose);
      if (error) reject(error);
      else resolve();
    };
    // spawnChild's own listener, added first, has already split the chunk into child.stdout
    const onData = (): void => {
      if (child.stdout.includes(line)) finish();
    };
    const onClose = (): void => finish(child.stdout.includes(line) ? undefined : new Error(`stdout closed before line ${line}; got ${JSON.stringify(child.stdout)}`));
    const timer = setTimeout(() => finish(new Error(`timed out waiting for stdout line ${line}; got ${JSON.stringify(child.stdout)}`)), timeoutMs);
    stream.on('data', onData);
    stream.on('close', onClose);
  });
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
