/**
 * preStop cooperation. Kubernetes runs the preStop hook (`deputy terminate`) inside the container
 * but not as a child of PID 1; when PID 1 exits, the kernel SIGKILLs every process left in the
 * pid namespace, so a hook still running is cut off (FailedPreStopHook). So the hook holds a
 * marker in the IPC directory naming its target, and an entrypoint (the supervisor, the shim)
 * whose child has exited does not exit while a marker's process lives (within its timeout).
 *
 * The ordering invariant, which makes the entrypoint's single look after its child's exit enough:
 *   hook writes its marker  <  hook sends terminate  <  the app exits  <  the entrypoint looks,
 *   and the marker stays until its writer has exited.
 * - The hook writes the marker (atomically) before it sends `terminate`, and never removes it: a
 *   process cannot remove a file after its exit, and removing it just before leaves a window
 *   (marker gone, process still exiting) in which an entrypoint looks, sees no hook and exits.
 * - Only readers remove markers, and only stale ones: a marker whose writer is gone (a zombie
 *   counts as gone: its exit status is final, PID 1's exit can no longer change it). The
 *   entrypoint removes them as it waits; a hook clears them when it starts, so they cannot pile
 *   up where no deputy entrypoint reads them.
 * - A hook aimed at the entrypoint itself (no pid file: target pid 1) cannot outlive it, so the
 *   entrypoint removes that marker when it is done, which tells the hook to return 0, and waits
 *   for that process (pid and start time) to exit before exiting itself.
 * A marker is trusted only while its pid is still the process that wrote it: markers outlive their
 * hook by design (and, on an emptyDir at /run, a container restart), and a fresh pid namespace
 * hands the same small pids out again. So the marker records the hook's start time (field 22 of
 * /proc/<pid>/stat), and the pid must be a process (not some thread) started no earlier than the
 * supervisor — no preStop hook can predate PID 1.
 */
import { readdirSync, readFileSync, renameSync, unlinkSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { PRESTOP_MARKER_PREFIX, formatPidFile, ipcDir, preStopMarkerPath } from '../contract/protocol.js';
import { processGone, processStartTime } from '../contract/proc.js';

/** A running `deputy terminate`: its pid, the pid it is terminating, its start time and its marker. */
export interface PreStopHook {
  readonly pid: number;
  readonly target: number;
  /** Field 22 of /proc/<pid>/stat (clock ticks since boot): tells this hook from a later user of its pid. */
  readonly startTime: number;
  readonly path: string;
}

/** The marker held by this process: left in place when it exits (readers remove it). */
export interface PreStopMarker {
  /** The marker's path, or undefined when it could not be written. */
  readonly path: string | undefined;
  /** True once someone else (the entrypoint, being the target) removed the marker: the target is done. */
  releasedByTarget(): boolean;
}

/** True when `pid` is a process rather than another process's thread (kill(tid, 0) succeeds too). */
function isProcess(pid: number): boolean {
  try {
    return /^Tgid:\s*([0-9]+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'))?.[1] === String(pid);
  } catch {
    return false;
  }
}

/**
 * Writes this process's marker naming `target` (and this process's start time); call it before
 * sending `terminate`, and never remove the marker (see the ordering invariant above). Best
 * effort: a read-only IPC directory only costs the entrypoint's wait, so errors are swallowed.
 */
export function holdPreStopMarker(target: number, dir: string = ipcDir()): PreStopMarker {
  runningPreStopHooks(dir); // removes the markers of hooks that have exited
  const path = preStopMarkerPath(process.pid, dir);
  // Written aside and renamed, so a reader never sees a half-written marker.
  const temporary = join(dir, `.${PRESTOP_MARKER_PREFIX}${process.pid}.tmp`);
  try {
    writeFileSync(temporary, `${formatPidFile(target)}${processStartTime('self') ?? ''}\n`, { mode: 0o644 });
    renameSync(temporary, path);
  } catch {
    try {
      unlinkSync(temporary);
    } catch {
      // never written
    }
    return { path: undefined, releasedByTarget: () => false };
  }
  return { path, releasedByTarget: () => !existsSync(path) };
}

/** The pid in a marker's file name `deputy-prestop.<pid>`, or undefined for any other name. */
function markerPid(name: string): number | undefined {
  if (!name.startsWith(PRESTOP_MARKER_PREFIX)) return undefined;
  const text = name.slice(PRESTOP_MARKER_PREFIX.length);
  const pid = Number(text);
  return /^[0-9]{1,7}$/.test(text) && pid >= 1 ? pid : undefined;
}

/**
 * The hook of the marker `name` while that hook runs, else undefined. A marker whose pid is now
 * something else — gone, a thread, a process started before `notBefore` (start-time ticks) or at
 * another time than the marker records — is stale and removed.
 */
export function readMarker(name: string, dir: string = ipcDir(), notBefore = 0): PreStopHook | undefined {
  const pid = markerPid(name);
  if (pid === undefined || pid === process.pid) return undefined;
  const path = join(dir, name);
  let lines: string[];
  try {
    lines = readFileSync(path, 'utf8').split('\n');
  } catch {
    return undefined; // removed while we looked: that hook is returning
  }
  const target = Number.parseInt(lines[0] ?? '', 10);
  const recorded = lines[1] ? Number(lines[1]) : undefined;
  const startTime = processStartTime(pid);
  const live =
    Number.isInteger(target) &&
    startTime !== undefined &&
    startTime >= notBefore &&
    (recorded === undefined || recorded === startTime) &&
    isProcess(pid) &&
    isRunning(pid);
  if (!live) {
    removeMarker(path);
    return undefined;
  }
  return { pid, target, startTime, path };
}

/** True while `hook`'s pid is still that hook (not reused by another process). */
export function hookRunning(hook: PreStopHook): boolean {
  return processStartTime(hook.pid) === hook.startTime && isRunning(hook.pid);
}

/** The preStop hooks still running; stale markers are removed (see {@link readMarker}). */
export function runningPreStopHooks(dir: string = ipcDir(), notBefore = 0): PreStopHook[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const hooks: PreStopHook[] = [];
  for (const name of names) {
    const hook = readMarker(name, dir, notBefore);
    if (hook) hooks.push(hook);
  }
  return hooks;
}

function removeMarker(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already removed, or a read-only directory
  }
}

/** Tells a hook aimed at the caller that its target is done: removes the hook's marker. */
export function releaseHook(hook: PreStopHook): void {
  removeMarker(hook.path);
}

/** Alive and not a zombie (EPERM means it exists under another user: alive). */
function isRunning(pid: number): boolean {
  return !processGone(pid);
}
