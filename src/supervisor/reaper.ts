/**
 * Orphan reaping. As PID 1 (or as a child subreaper) every orphaned descendant becomes our child,
 * and its zombie stays in the process table until we wait for it — Node does not: libuv only
 * waits for the children it spawned. `waitpid(-1)` from JS would steal libuv's own child (its
 * `exit` event would never fire), so we list our children in /proc, pick the zombies that are not
 * ours to leave to libuv, and `waitpid(pid, WNOHANG)` exactly those. A zombie's pid cannot be
 * reused until it is reaped, so there is no race with a new process.
 *
 * The FFI (koffi) is loaded only when there is a zombie to reap or a subreaper to set up, so
 * start-up stays fast.
 */
import { createRequire } from 'node:module';
import { DeputyError } from '../contract/errors.js';
import { childrenOf, isZombie, readProcStat } from '../contract/proc.js';

/** How often reaping runs even without SIGCHLD (signals coalesce; a sweep is cheap). */
export const SWEEP_INTERVAL_MS = 1000;

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
  const queue = childrenOf('self');
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

/**
 * Reaps zombie children except those in `spawned` (libuv waits for those). Returns the pids it
 * reaped.
 */
export function reapOrphans(spawned: ReadonlySet<number>): number[] {
  const reaped: number[] = [];
  for (const pid of childrenOf('self')) {
    if (spawned.has(pid) || !isZombie(pid)) continue;
    if (loadLibc().waitpid(pid, null, WNOHANG) === pid) reaped.push(pid);
  }
  return reaped;
}

/** Runs {@link reapOrphans} on every SIGCHLD and every {@link SWEEP_INTERVAL_MS}. */
export class Reaper {
  readonly #spawned: ReadonlySet<number>;
  readonly #onReaped: (pids: number[]) => void;
  readonly #onError: (error: unknown) => void;
  #timer: NodeJS.Timeout | undefined;
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

  /** `spawned` is read at every sweep, so pids added later are left to libuv too. */
  constructor(spawned: ReadonlySet<number>, onReaped: (pids: number[]) => void, onError: (error: unknown) => void) {
    this.#spawned = spawned;
    this.#onReaped = onReaped;
    this.#onError = onError;
  }

  start(): void {
    process.on('SIGCHLD', this.#sweep);
    this.#timer = setInterval(this.#sweep, SWEEP_INTERVAL_MS);
    this.#timer.unref();
  }

  /** Reaps now (e.g. before exiting, so the counts in the logs are complete). */
  sweep(): void {
    this.#sweep();
  }

  stop(): void {
    process.off('SIGCHLD', this.#sweep);
    if (this.#timer) clearInterval(this.#timer);
  }
}
