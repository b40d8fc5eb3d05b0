/**
 * Internal hook for in-process observers of a Deputy's shutdown (the Prometheus metrics): called
 * with each phase as it begins, and with `done` and the shutdown record just before the final
 * log line and the exit. Not part of the public API: apps read the record from the log.
 * Observers run synchronously (the process exits right after `done`); one that throws is logged
 * and does not disturb the shutdown or the other observers.
 */
import { sdkLog } from '../log/logger.js';
import type { ShutdownPhase, ShutdownRecord } from './shutdown-record.js';

/** Called with `delay`, `drain`, `handlers` as each begins, then `done` with the record. */
export type ShutdownObserver = (phase: ShutdownPhase, record?: ShutdownRecord) => void;

const observers = new WeakMap<object, Set<ShutdownObserver>>();

/** Adds `observer` to `deputy`'s shutdown; returns the function that removes it. */
export function observeShutdown(deputy: object, observer: ShutdownObserver): () => void {
  let set = observers.get(deputy);
  if (set === undefined) observers.set(deputy, (set = new Set()));
  set.add(observer);
  return () => void set.delete(observer);
}

/** Tells `deputy`'s observers about a phase (and the record at `done`). */
export function notifyShutdownObservers(deputy: object, phase: ShutdownPhase, record?: ShutdownRecord): void {
  const set = observers.get(deputy);
  if (set === undefined) return;
  for (const observer of set) {
    try {
      observer(phase, record);
    } catch (error) {
      sdkLog().error({ phase, err: error }, 'a shutdown observer threw; the shutdown goes on');
    }
  }
}
