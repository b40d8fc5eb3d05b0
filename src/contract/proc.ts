/**
 * What the supervisor, the reaper, the preStop handshake and the terminator read about processes
 * from /proc. One parser: the command name (field 2 of /proc/<pid>/stat) may contain spaces and
 * parentheses, so the fields are counted from its last ')'.
 *
 * Every read goes through one preallocated buffer (open, read, close) and is parsed from its bytes.
 * readFileSync cannot be used on the hot path: /proc files report size 0, so it allocates two
 * 64 KiB buffers per file (outside the V8 heap), and a PID 1 sweeping on every SIGCHLD of an
 * orphan storm grew by 40 MB of RSS that way (see bench/supervisor, "orphan churn").
 */
import { closeSync, openSync, readSync, readdirSync } from 'node:fs';

/** The fields of /proc/<pid>/stat this package uses. */
export interface ProcStat {
  /** Field 3: R, S, D, T, Z, … */
  readonly state: string;
  /** Field 22: start time in clock ticks since boot (NaN if unreadable). */
  readonly startTicks: number;
}

/** Large enough for any /proc/<pid>/stat (the command name is at most 64 bytes); a children file is read in chunks. */
const scratch = Buffer.allocUnsafe(4096);
const SPACE = 0x20;
const NEWLINE = 0x0a;
const CLOSE_PAREN = 0x29;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;

/** A growable list of pids, reused across reads so that a sweep allocates nothing. */
export class PidList {
  #pids = new Int32Array(64);
  #length = 0;

  get length(): number {
    return this.#length;
  }

  at(index: number): number {
    return this.#pids[index]!;
  }

  push(pid: number): void {
    if (this.#length === this.#pids.length) {
      const grown = new Int32Array(this.#pids.length * 2);
      grown.set(this.#pids);
      this.#pids = grown;
    }
    this.#pids[this.#length++] = pid;
  }

  clear(): void {
    this.#length = 0;
  }

  toArray(): number[] {
    return Array.from(this.#pids.subarray(0, this.#length));
  }
}

/** Opens `path` for reading, or returns -1 when it does not exist (the process is gone). */
function openProc(path: string): number {
  try {
    return openSync(path, 'r');
  } catch {
    return -1;
  }
}

/** Reads the next chunk of `fd` into the scratch buffer: bytes read, 0 at the end or on error (gone meanwhile). */
function readChunk(fd: number): number {
  try {
    return readSync(fd, scratch, 0, scratch.length, null);
  } catch {
    return 0;
  }
}

/** /proc/<pid>/stat, or undefined when the process no longer exists. */
export function readProcStat(pid: number | 'self'): ProcStat | undefined {
  const fd = openProc(`/proc/${pid}/stat`);
  if (fd < 0) return undefined;
  let length: number;
  try {
    length = readChunk(fd); // a seq_file's single record comes whole in one read
  } finally {
    closeSync(fd);
  }
  if (length === 0) return undefined;
  let at = scratch.lastIndexOf(CLOSE_PAREN, length - 1);
  if (at < 0) return undefined;
  at += 2; // past ") "
  const state = at < length ? String.fromCharCode(scratch[at]!) : '';
  // Field 22 is the 19th space-separated field after the state (field 3).
  for (let field = 3; field < 22 && at < length; at += 1) if (scratch[at] === SPACE) field += 1;
  let startTicks = 0;
  let digits = 0;
  for (; at < length && scratch[at]! >= DIGIT_0 && scratch[at]! <= DIGIT_9; at += 1, digits += 1) startTicks = startTicks * 10 + scratch[at]! - DIGIT_0;
  return { state, startTicks: digits > 0 ? startTicks : NaN };
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

/**
 * Appends the pids of a /proc `children` file (space-separated) to `into`, read in chunks so a pid
 * may straddle two. Returns false when the file cannot be opened (the task is gone).
 */
function readChildrenFile(path: string, into: PidList): boolean {
  const fd = openProc(path);
  if (fd < 0) return false;
  try {
    let pid = 0;
    let digits = 0;
    for (let length = readChunk(fd); length > 0; length = readChunk(fd)) {
      for (let at = 0; at < length; at += 1) {
        const byte = scratch[at]!;
        if (byte >= DIGIT_0 && byte <= DIGIT_9) {
          pid = pid * 10 + byte - DIGIT_0;
          digits += 1;
        } else if ((byte === SPACE || byte === NEWLINE) && digits > 0) {
          into.push(pid);
          pid = 0;
          digits = 0;
        }
      }
    }
    if (digits > 0) into.push(pid);
  } finally {
    closeSync(fd);
  }
  return true;
}

/**
 * Direct children of the calling thread (in Node, the main thread: the one running JS), from
 * /proc/thread-self/children, into `into` (cleared first). Returns `into`.
 */
export function threadChildren(into: PidList): PidList {
  into.clear();
  readChildrenFile('/proc/thread-self/children', into);
  return into;
}

/** Direct children of `pid` (all its threads'), from /proc/<pid>/task/<tid>/children. The supervisor's own are threadChildren(). */
export function childrenOf(pid: number): number[] {
  const children = new PidList();
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return []; // gone
  }
  for (const task of tasks) readChildrenFile(`/proc/${pid}/task/${task}/children`, children);
  return children.toArray();
}
