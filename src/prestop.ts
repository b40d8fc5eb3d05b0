/**
 * preStop cooperation. Kubernetes runs the preStop hook (`deputy terminate`) inside the container
 * but not as a child of PID 1, and records FailedPreStopHook when PID 1 exits before the hook
 * returns. So the hook leaves a marker in the IPC directory while it waits for its target, and the
 * supervisor, once its child has exited, waits while a marker's process is still alive.
 */
import { readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PRESTOP_MARKER_PREFIX, formatPidFile, ipcDir, preStopMarkerPath } from './protocol.js';
import { isZombie } from './reaper.js';

/** A running `deputy terminate`: its pid and the pid it is terminating. */
export interface PreStopHook {
  readonly pid: number;
  readonly target: number;
}

/**
 * Writes this process's marker naming `target`; returns the function that removes it (also run at
 * exit). Best effort: a read-only IPC directory only costs the wait, so errors are swallowed.
 */
export function holdPreStopMarker(target: number, dir: string = ipcDir()): () => void {
  const path = preStopMarkerPath(process.pid, dir);
  try {
    writeFileSync(path, formatPidFile(target), { mode: 0o644 });
  } catch {
    return () => {};
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
  return release;
}

/**
 * The preStop hooks still running, excluding those aimed at `exceptTarget` (the supervisor itself:
 * a hook waiting for the supervisor to exit must not also make it wait). Markers of processes that
 * are gone (a hook killed with SIGKILL) are stale and ignored.
 */
export function runningPreStopHooks(exceptTarget: number, dir: string = ipcDir()): PreStopHook[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const hooks: PreStopHook[] = [];
  for (const name of names) {
    if (!name.startsWith(PRESTOP_MARKER_PREFIX)) continue;
    const pid = Number(name.slice(PRESTOP_MARKER_PREFIX.length));
    if (!Number.isInteger(pid) || pid < 1 || pid === process.pid) continue;
    let target: number;
    try {
      target = Number.parseInt(readFileSync(join(dir, name), 'utf8'), 10);
    } catch {
      continue; // removed while we looked: that hook has returned
    }
    if (target === exceptTarget || !isRunning(pid)) continue;
    hooks.push({ pid, target });
  }
  return hooks;
}

/** Alive and not a zombie. EPERM means it exists under another user: alive. */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return !isZombie(pid);
}
