/**
 * What the supervisor, the reaper, the preStop handshake and the terminator read about processes
 * from /proc. One parser: the command name (field 2 of /proc/<pid>/stat) may contain spaces and
 * parentheses, so the fields are counted from its last ')'.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** The fields of /proc/<pid>/stat this package uses. */
export interface ProcStat {
  /** Field 3: R, S, D, T, Z, … */
  readonly state: string;
  /** Field 22: start time in clock ticks since boot (NaN if unreadable). */
  readonly startTicks: number;
}

/** /proc/<pid>/stat, or undefined when the process no longer exists. */
export function readProcStat(pid: number | 'self'): ProcStat | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0] ?? '', startTicks: Number(fields[19]) };
}

/** True when `pid` is a zombie; false when it runs or no longer exists. */
export function isZombie(pid: number): boolean {
  return readProcStat(pid)?.state === 'Z';
}

/** Start time of `pid` in clock ticks since boot, or undefined when gone or unreadable. */
export function processStartTime(pid: number | 'self'): number | undefined {
  const ticks = readProcStat(pid)?.startTicks;
  return ticks !== undefined && Number.isSafeInteger(ticks) ? ticks : undefined;
}

/**
 * True when `pid` no longer exists or has exited and waits only to be reaped (a zombie).
 * EPERM from kill(pid, 0) means it exists under another user.
 */
export function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return true;
  }
  const stat = readProcStat(pid);
  return stat === undefined || stat.state === 'Z';
}

/** Direct children of `pid` (all its threads'), from /proc/<pid>/task/<tid>/children. */
export function childrenOf(pid: number | 'self'): number[] {
  const children: number[] = [];
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return children; // gone
  }
  for (const task of tasks) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/task/${task}/children`, 'latin1');
    } catch {
      continue;
    }
    for (const word of text.split(' ')) if (word !== '' && word !== '\n') children.push(Number(word));
  }
  return children;
}
