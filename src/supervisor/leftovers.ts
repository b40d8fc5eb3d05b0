/**
 * What the supervisor does once the child has exited and before it exits itself: the processes
 * the child left behind get SIGTERM, and SIGKILL if still there at the deadline; the waits of
 * this stretch (for leftovers, for preStop hooks) poll, and a SIGINT cuts the current poll short.
 * Kept apart from supervision.ts, which decides when this runs and until when.
 */
import type { LineLogger } from '../log/logger.js';
import type { LogLimiter, RepeatedEvent } from '../log/limit.js';
import { livingDescendants, type Reaper } from './reaper.js';
import { kill } from './child-signals.js';

/** Polling period while waiting for leftover processes and preStop hooks. */
const POLL_MS = 20;
// A child can leave processes behind at will: the record is rate-limited (src/log/limit.ts).
const LEFTOVERS_SIGNALLED: RepeatedEvent = { event: 'leftovers-signalled', level: 'info', what: '"sending them SIGTERM" records', sum: 'count' };

/** One poll period at a time; `wake()` ends the current one early. */
export class Poll {
  #wake: (() => void) | undefined;

  /** Sleeps one poll period, or less when woken. */
  pause(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, POLL_MS);
      const self = this;
      function done(): void {
        clearTimeout(timer);
        self.#wake = undefined;
        resolve();
      }
      this.#wake = done;
    });
  }

  wake(): void {
    this.#wake?.();
  }
}

/** What ending the leftovers uses of the supervision. */
export interface LeftoversContext {
  readonly log: LineLogger;
  readonly limited: LogLimiter;
  readonly reaper: Reaper | undefined;
  /** Stop waiting: SIGKILL what is left now. */
  readonly hurry: () => boolean;
  readonly poll: Poll;
}

/** The main child has exited: SIGTERM the processes it left, SIGKILL those still there at `deadline`. */
export async function endLeftovers(deadline: number, { log, limited, reaper, hurry, poll }: LeftoversContext): Promise<void> {
  const signalled = new Set<number>();
  for (;;) {
    reaper?.sweep();
    const living = livingDescendants();
    if (living.length === 0) {
      if (signalled.size > 0) log.info({ count: signalled.size }, 'leftover processes ended');
      return;
    }
    if (hurry() || Date.now() >= deadline) {
      log.warn({ pids: living }, 'leftover processes still running at the timeout; killing them');
      for (const pid of living) kill(pid, 'SIGKILL');
      return;
    }
    const fresh = living.filter((pid) => !signalled.has(pid));
    if (fresh.length > 0) {
      limited.log(LEFTOVERS_SIGNALLED, { pids: fresh, count: fresh.length }, 'the child exited and left processes running; sending them SIGTERM');
      for (const pid of fresh) {
        signalled.add(pid);
        kill(pid, 'SIGTERM');
      }
    }
    await poll.pause();
  }
}
