/**
 * Readiness as load shedding (as @fastify/under-pressure does): checks on the process itself
 * rather than a dependency. While one fails, readiness answers 503 with its reason, the pod
 * leaves the Service's endpoints and traffic goes to the other replicas until it recovers.
 * - `eventLoopCheck` — the event loop was held up longer than a bound recently;
 * - `memoryCheck` — resident set or used heap above a bound.
 * As liveness checks they catch a wedged process instead (bounds well above normal peaks).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import { MAX_TIMER_MS, checkNonNegativeInteger } from '../contract/duration.js';
import { UsageError } from '../contract/errors.js';
import { NotReady, type Check } from './check-result.js';

/** Options of `eventLoopCheck`. */
export interface EventLoopCheckOptions {
  /** Fail when the loop was held up longer than this many milliseconds within the recent window. */
  readonly maxDelayMs: number;
  /**
   * A delay over the bound keeps the check failing for at least this many milliseconds, and the
   * check passes again at most twice this long after the loop is free. Default: 1000.
   */
  readonly windowMs?: number;
  /** Sampling interval of the delay monitor, in milliseconds. Default: 20. */
  readonly resolutionMs?: number;
}

const MB = 1024 * 1024;
const mb = (bytes: number): string => `${Math.round(bytes / MB)} MiB`;

/**
 * Event loop delay: fails with detail `event_loop_delay` when the loop was held up (a long
 * synchronous task, a GC pause, CPU starvation) for more than `maxDelayMs` within the last window.
 *
 * How: perf_hooks.monitorEventLoopDelay samples the loop every `resolutionMs` in native code; a
 * timer every `windowMs` looks at the worst sample since the last look. The histogram is reset
 * only after a window over the bound (a reset forgets the interval in progress, so resetting
 * every window would miss a stall that begins right after it), so a good window costs nothing
 * but the look. Both timers are unref'd: they never keep the process alive.
 */
export function eventLoopCheck(options: EventLoopCheckOptions): Check {
  const { maxDelayMs, windowMs = 1000, resolutionMs = 20 } = options ?? ({} as EventLoopCheckOptions);
  if (maxDelayMs === undefined) throw new UsageError('eventLoopCheck({ maxDelayMs }) needs the bound, in milliseconds');
  checkNonNegativeInteger(maxDelayMs, 'eventLoopCheck: maxDelayMs', MAX_TIMER_MS);
  checkNonNegativeInteger(windowMs, 'eventLoopCheck: windowMs', MAX_TIMER_MS);
  checkNonNegativeInteger(resolutionMs, 'eventLoopCheck: resolutionMs', MAX_TIMER_MS);
  if (resolutionMs < 1 || windowMs < resolutionMs) throw new UsageError(`eventLoopCheck: resolutionMs must be from 1 to windowMs (${windowMs}), got ${resolutionMs}`);
  const histogram = monitorEventLoopDelay({ resolution: resolutionMs });
  histogram.enable();
  // A sample is the time between two of the monitor's wake-ups: the delay is what exceeds the interval.
  const worstNowMs = (): number => Math.max(0, histogram.max / 1e6 - resolutionMs);
  let lastOverMs = 0;
  let lastOverAt = Number.NEGATIVE_INFINITY;
  const look = setInterval(() => {
    const worstMs = worstNowMs();
    if (worstMs <= maxDelayMs) return;
    lastOverMs = worstMs;
    lastOverAt = performance.now();
    histogram.reset();
  }, windowMs);
  look.unref();
  return () => {
    const nowMs = worstNowMs();
    if (nowMs > maxDelayMs) throw new NotReady('event_loop_delay', `the event loop was held up for ${Math.round(nowMs)} ms, over the bound of ${maxDelayMs} ms`);
    const agoMs = performance.now() - lastOverAt;
    if (agoMs < windowMs) {
      throw new NotReady('event_loop_delay', `the event loop was held up for ${Math.round(lastOverMs)} ms ${Math.round(agoMs)} ms ago, over the bound of ${maxDelayMs} ms`);
    }
  };
}

/** Options of `memoryCheck`: at least one bound. */
export interface MemoryCheckOptions {
  /** Fail when the resident set size exceeds this many bytes. */
  readonly maxRssBytes?: number;
  /** Fail when V8's used heap exceeds this many bytes. */
  readonly maxHeapUsedBytes?: number;
  /**
   * Memory is read at most once per this many milliseconds; probes in between reuse the reading
   * (reading the resident set costs tens of microseconds, as much as a whole probe). Default: 1000.
   */
  readonly refreshMs?: number;
}

/**
 * Memory: fails with detail `memory` while the resident set size or V8's used heap is over its
 * bound, as last read (at most `refreshMs` ago).
 */
export function memoryCheck(options: MemoryCheckOptions): Check {
  const { maxRssBytes, maxHeapUsedBytes, refreshMs = 1000 } = options ?? {};
  if (maxRssBytes === undefined && maxHeapUsedBytes === undefined) throw new UsageError('memoryCheck needs maxRssBytes, maxHeapUsedBytes or both');
  if (maxRssBytes !== undefined) checkNonNegativeInteger(maxRssBytes, 'memoryCheck: maxRssBytes');
  if (maxHeapUsedBytes !== undefined) checkNonNegativeInteger(maxHeapUsedBytes, 'memoryCheck: maxHeapUsedBytes');
  checkNonNegativeInteger(refreshMs, 'memoryCheck: refreshMs', MAX_TIMER_MS);
  let rss = 0;
  let heapUsed = 0;
  let readAt = Number.NEGATIVE_INFINITY;
  return () => {
    const now = performance.now();
    if (now - readAt >= refreshMs) {
      readAt = now;
      if (maxRssBytes !== undefined) rss = process.memoryUsage.rss();
      if (maxHeapUsedBytes !== undefined) heapUsed = getHeapStatistics().used_heap_size;
    }
    if (maxRssBytes !== undefined && rss > maxRssBytes) throw new NotReady('memory', `resident set ${mb(rss)} is over the bound of ${mb(maxRssBytes)}`);
    if (maxHeapUsedBytes !== undefined && heapUsed > maxHeapUsedBytes) {
      throw new NotReady('memory', `used heap ${mb(heapUsed)} is over the bound of ${mb(maxHeapUsedBytes)}`);
    }
  };
}
