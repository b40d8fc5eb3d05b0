/**
 * Orphan reaping. As PID 1 (or as a child subreaper) every orphaned descendant becomes our child,
 * and its zombie stays in the process table until we wait for it — Node does not: libuv only
 * waits for the children it spawned. `waitpid(-1)` from JS would steal libuv's own child (its
 * `exit` event would never fire), so a sweep lists our children in /proc and calls
 * `waitpid(pid, WNOHANG)` on exactly those that libuv did not spawn: it reaps a zombie and returns
 * 0 for a living child, so no /proc/<pid>/stat read is needed to tell them apart. A zombie's pid
 * cannot be reused until it is reaped, so there is no race with a new process.
 *
 * Only the main thread's children are listed (/proc/thread-self/children; sweeps run on the main
 * thread). The kernel hands an orphan to the reaper's first live thread — the main thread, unless
 * the process is exiting — and libuv spawns from the loop thread, the main thread too. Node's
 * other threads (V8 platform, libuv pool) never fork, and a child forked by a worker thread would
 * belong to that worker's libuv, which a sweep must not steal from anyway.
 *
 * SIGCHLD bursts (an orphan storm sends thousands a second) are coalesced into one sweep per event
 * loop turn (setImmediate): a zombie waits harmlessly until then. A sweep allocates nothing but
 * the list of pids it reaped (reused pid list, preallocated /proc buffer in src/contract/proc.ts), so a
 * storm does not grow the supervisor's heap.
 *
 * The FFI (koffi) is loaded only when there is a child not spawned by libuv to wait for, or a
 * subreaper to set up, so start-up stays fast.
 */
import { createRequire } from 'node:module';
import { DeputyError } from '../contract/errors.js';
import { PidList, childrenOf, readProcStat, threadChildren } from '../contract/proc.js';

/** How often reaping runs even without SIGCHLD (a safety net: signals can coalesce; a sweep is cheap). */
const SWEEP_INTERVAL_MS = 1000;

const WNOHANG = 1;
const PR_SET_CHILD_SUBREAPER = 36;
/** glibc first, then musl (Alpine) on the common architectures. */
const LIBC_NAMES = ['libc.so.6', 'libc.musl-x86_64.so.1', 'libc.musl-aarch64.so.1', 'libc.so'];

interface Libc {
  waitpid(pid: number, status: null, options: number): number;
  prctl(option: number, arg2: number, arg3: number, arg4: number, arg5: number): number;
}

let libc: Libc | undefined;

function loadLibc(): Libc {
  if (libc) return libc;
  const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
  let lib: ReturnType<typeof koffi.load> | undefined;
  let lastError: unknown;
  for (const name of LIBC_NAMES) {
    try {
      lib = koffi.load(name);
      break;
    } catch (error) {
      lastError = error;
    }
  }
  if (!lib) throw new DeputyError('EDEPUTY_LIBC', `cannot load the C library for reaping (tried ${LIBC_NAMES.join(', ')})`, { cause: lastError });
  libc = {
    waitpid: lib.func('int waitpid(int pid, void *status, int options)') as Libc['waitpid'],
    prctl: lib.func('int prctl(int option, unsigned long arg2, unsigned long arg3, unsigned long arg4, unsigned long arg5)') as Libc['prctl'],
  };
  return libc;
}

/** Makes this process the reaper of its orphaned descendants (`prctl(PR_SET_CHILD_SUBREAPER)`). */
export function becomeSubreaper(): void {
  if (loadLibc().prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) !== 0) {
    throw new DeputyError('EDEPUTY_SUBREAPER', 'prctl(PR_SET_CHILD_SUBREAPER) failed: the kernel must be Linux 3.4 or later');
  }
}

/** Every living (not zombie) descendant of this process, parents before their children. */
export function livingDescendants(): number[] {
  const found: number[] = [];
  // Our own children are the main thread's (see the header); a descendant's may be any thread's.
  const queue = threadChildren(new PidList()).toArray();
  const seen = new Set<number>();
  while (queue.length > 0) {
    const pid = queue.shift()!;
    if (seen.has(pid)) continue;
    seen.add(pid);
    const stat = readProcStat(pid);
    if (stat === undefined || stat.state === 'Z') continue;
    found.push(pid);
    queue.push(...childrenOf(pid));
  }
  return found;
}

/** Reused by every sweep. */
const ownChildren = new PidList();
const NONE_REAPED: readonly number[] = Object.freeze([]);

/**
 * Reaps zombie children except those in `spawned` (libuv waits for those). Returns the pids it
 * reaped.
 */
function reapOrphans(spawned: ReadonlySet<number>): readonly number[] {
  let reaped: number[] | undefined;
  threadChildren(ownChildren);
  for (let index = 0; index < ownChildren.length; index += 1) {
    const pid = ownChildren.at(index);
    if (spawned.has(pid)) continue;
    if (loadLibc().waitpid(pid, null, WNOHANG) === pid) (reaped ??= []).push(pid);
  }
  return reaped ?? NONE_REAPED;
}

/** Runs {@link reapOrphans} once per event-loop turn with a SIGCHLD, and every {@link SWEEP_INTERVAL_MS}. */
export class Reaper {
  readonly #spawned: ReadonlySet<number>;
  readonly #onReaped: (pids: readonly number[]) => void;
  readonly #onError: (error: unknown) => void;
  #timer: NodeJS.Timeout | undefined;
  #scheduled: NodeJS.Immediate | undefined;
  #failed = false;
  readonly #sweep = (): void => {
    if (this.#failed) return;
    try {
      const pids = reapOrphans(this.#spawned);
      if (pids.length > 0) this.#onReaped(pids);
    } catch (error) {
      this.#failed = true; // report once; a missing libc will not appear later
      this.#onError(error);
    }
  };
  readonly #sweepScheduled = (): void => {
    this.#scheduled = undefined;
    this.#sweep();
  };
  readonly #onSigchld = (): void => {
    this.#scheduled ??= setImmediate(this.#sweepScheduled);
  };

  /** `spawned` is read at every sweep, so pids added later are left to libuv too. */
  constructor(spawned: ReadonlySet<number>, onReaped: (pids: readonly number[]) => void, onError: (error: unknown) => void) {
    this.#spawned = spawned;
    this.#onReaped = onReaped;
    this.#onError = onError;
  }

  start(): void {
    process.on('SIGCHLD', this.#onSigchld);
    this.#timer = setInterval(this.#sweep, SWEEP_INTERVAL_MS);
    this.#timer.unref();
  }

  /** Reaps now (e.g. before exiting, so the counts in the logs are complete). */
  sweep(): void {
    this.#sweep();
  }

  stop(): void {
    process.off('SIGCHLD', this.#onSigchld);
    if (this.#timer) clearInterval(this.#timer);
    if (this.#scheduled) clearImmediate(this.#scheduled);
    this.#scheduled = undefined;
  }
}
