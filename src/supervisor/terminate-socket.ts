/**
 * The supervisor's two uses of the terminate protocol (src/ipc/): sending `terminate`
 * to the entrypoint named by the pid file, and binding its own socket, so that a `deputy
 * terminate` aimed at the supervisor starts the same sequence as SIGTERM. Both load their end
 * of it lazily: each loads unix-dgram, a native addon the start-up path does without. Kept
 * apart so that supervision.ts carries the sequence, not the socket glue.
 */
import { readEntrypointPid } from '../contract/protocol.js';
import type { LineLogger } from '../log/logger.js';

/**
 * Sends `terminate` to the entrypoint named by the pid file at this moment, without waiting for
 * it to exit. Resolves with undefined once sent (and logged), else with why it could not be.
 */
export async function sendTerminate(remainingMs: () => number, log: LineLogger): Promise<string | undefined> {
  let target: number | undefined;
  let reason: string;
  try {
    target = readEntrypointPid();
    reason = 'no entrypoint pid file';
  } catch (error) {
    reason = (error as Error).message;
  }
  if (target === process.pid) reason = 'the entrypoint pid file names the supervisor itself';
  else if (target !== undefined) {
    try {
      const { gracefulTerminate } = await import('../ipc/terminate-sender.js');
      await gracefulTerminate(target, { wait: false, timeoutMs: remainingMs() });
      log.info({ via: 'socket', target }, 'terminate sent');
      return undefined;
    } catch (error) {
      reason = (error as Error).message;
    }
  }
  return reason;
}

/**
 * Binds the supervisor's own terminator socket (unless the supervision is done by then): a
 * `terminate` there calls `onTerminate`, which resolves when the supervision ends.
 */
export async function listenOnSupervisorSocket(log: LineLogger, isDone: () => boolean, onTerminate: () => Promise<void>): Promise<void> {
  try {
    const { listenForTerminate } = await import('../ipc/terminator.js');
    if (isDone()) return;
    listenForTerminate(
      () => {
        log.info('terminate received on the supervisor socket');
        return onTerminate();
      },
      { setEntrypoint: false, signals: [] },
      log,
    );
  } catch (error) {
    log.debug({ err: error }, 'supervisor socket not bound; deputy terminate reaches the app through its pid file only');
  }
}
