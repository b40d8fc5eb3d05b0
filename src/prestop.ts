/**
 * preStop cooperation. Kubernetes runs the preStop hook (`deputy terminate`) inside the container
 * but not as a child of PID 1, and records FailedPreStopHook when PID 1 exits before the hook
 * returns. So, while it waits, the hook holds a marker in the IPC directory naming its target:
 * - a supervisor whose child has exited waits (within its timeout) while a marker's process lives;
 * - a hook aimed at the supervisor itself (no pid file: target pid 1) cannot outlive it — PID 1's
 *   exit kills the namespace — so the supervisor removes that marker when it is done, which tells
 *   the hook to return 0, and waits for the hook to exit before exiting itself.
 */
import { readdirSync, readFileSync, unlinkSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { TerminateTimeoutError } from './errors.js';
import { PRESTOP_MARKER_PREFIX, formatPidFile, ipcDir, preStopMarkerPath } from './protocol.js';
import { isZombie } from './reaper.js';

/** A running `deputy terminate`: its pid, the pid it is terminating, and its marker. */
export interface PreStopHook {
  readonly pid: number;
  readonly target: number;
  readonly path: string;
}

/** The marker held by this process. */
export interface PreStopMarker {
  /** The marker's path, or undefined when it could not be written. */
  readonly path: string | undefined;
  /** True once someone else (the supervisor) removed the marker: the target is done. */
  releasedByTarget(): boolean;
  /** Removes the marker (also run at exit). */
  release(): void;
}

const POLL_MS = 50;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Writes this process's marker naming `target`. Best effort: a read-only IPC directory only costs
 * the supervisor's wait, so errors are swallowed.
 */
export function holdPreStopMarker(target: number, dir: string = ipcDir()): PreStopMarker {
  const path = preStopMarkerPath(process.pid, dir);
  try {
    writeFileSync(path, formatPidFile(target), { mode: 0o644 });
  } catch {
    return { path: undefined, releasedByTarget: () => false, release: () => {} };
  }
  let held = true;
  const release = (): void => {
    if (!held) return;
    held = false;
    process.off('exit', release);
    try {
      unlinkSync(path);
    } catch {
      // already removed
    }
  };
  process.on('exit', release);
  return { path, releasedByTarget: () => held && !existsSync(path), release };
}

/**
 * Waits until `target` is gone, or until the supervisor released `marker` (it is the target and
 * done). Polls every 50 ms; rejects with {@link TerminateTimeoutError} after `timeoutMs` from `startedAt`.
 */
export async function awaitTarget(target: number, marker: PreStopMarker, timeoutMs: number | undefined, startedAt = Date.now()): Promise<void> {
  const { processGone } = await import('./terminator.js');
  while (!processGone(target) && !marker.releasedByTarget()) {
    if (timeoutMs !== undefined && Date.now() - startedAt >= timeoutMs) throw new TerminateTimeoutError(target, timeoutMs);
    await sleep(POLL_MS);
  }
}

/** The pid in a marker's file name `deputy-prestop.<pid>`, or undefined for any other name. */
export function markerPid(name: string): number | undefined {
  if (!name.startsWith(PRESTOP_MARKER_PREFIX)) return undefined;
  const text = name.slice(PRESTOP_MARKER_PREFIX.length);
  const pid = Number(text);
  return /^[0-9]{1,7}$/.test(text) && pid >= 1 ? pid : undefined;
}

/** The hook of the marker `name`, or undefined when it is not a marker or is already gone. */
export function readMarker(name: string, dir: string = ipcDir()): PreStopHook | undefined {
  const pid = markerPid(name);
  if (pid === undefined || pid === process.pid) return undefined;
  const path = join(dir, name);
  try {
    return { pid, target: Number.parseInt(readFileSync(path, 'utf8'), 10), path };
  } catch {
    return undefined; // removed while we looked: that hook is returning
  }
}

/**
 * The preStop hooks still running. Markers of processes that are gone (a hook killed with
 * SIGKILL) are stale and ignored.
 */
export function runningPreStopHooks(dir: string = ipcDir()): PreStopHook[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const hooks: PreStopHook[] = [];
  for (const name of names) {
    const hook = readMarker(name, dir);
    if (hook && isRunning(hook.pid)) hooks.push(hook);
  }
  return hooks;
}

/** Tells a hook aimed at the caller that its target is done: removes the hook's marker. */
export function releaseHook(hook: PreStopHook): void {
  try {
    unlinkSync(hook.path);
  } catch {
    // the hook has returned already
  }
}

/** Alive and not a zombie. EPERM means it exists under another user: alive. */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return !isZombie(pid);
}
