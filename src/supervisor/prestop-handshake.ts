/**
 * The supervisor's end of the preStop handshake (the markers are src/ipc/prestop.ts). While the
 * supervisor runs it watches the IPC directory: a `deputy terminate` hook's marker starts the
 * timeout, since in the Kubernetes order the hook terminates the app before any SIGTERM reaches
 * PID 1. Once the child has exited it waits for every hook aimed at the app to exit, and
 * releases the hooks aimed at itself, so the kubelet never sees the container end under a hook.
 */
import { watch } from 'node:fs';
import { ipcDir } from '../contract/protocol.js';
import { processStartTime } from '../contract/proc.js';
import type { LineLogger } from '../log/logger.js';
import type { LogLimiter, RepeatedEvent } from '../log/limit.js';
import type { PreStopHook } from '../ipc/prestop.js';

/**
 * The least time a preStop hook gets to notice that it is done (its target gone, or released)
 * and return before the supervisor exits: about 20 of its 50 ms polls.
 */
const RELEASE_GRACE_MS = 1000;
const PRESTOP_HOOK_STARTED: RepeatedEvent = { event: 'prestop-hook-started', level: 'info', what: 'preStop hooks started' };

export class PreStopHandshake {
  readonly #log: LineLogger;
  readonly #limited: LogLimiter;
  /** preStop hooks seen while running, by pid; dropped once gone. */
  readonly #hooks = new Map<number, PreStopHook>();
  /** Our start time (ticks since boot): a marker of a process started earlier is stale. */
  readonly #startTicks = processStartTime('self') ?? 0;

  constructor(log: LineLogger, limited: LogLimiter) {
    this.#log = log;
    this.#limited = limited;
  }

  /**
   * Kubernetes records FailedPreStopHook if PID 1 exits before the hook returns. Run once the
   * child has exited, so every hook that could have made it exit has its marker in place (the
   * ordering invariant in src/ipc/prestop.ts). Hooks aimed at the app: wait until their processes
   * have exited (their markers are then stale and removed). Hooks aimed at the supervisor itself
   * cannot outlive it: release them (they then return 0) and wait for them to exit. All within
   * `until` (when what is left of the timeout runs out), or with 'grace' (after the timeout killed
   * the app) within RELEASE_GRACE_MS for the hooks to notice; released hooks always get at least that.
   */
  async awaitHooks(until: number | 'grace', hurry: () => boolean, pause: () => Promise<void>): Promise<void> {
    const { hookRunning, releaseHook, runningPreStopHooks } = await import('../ipc/prestop.js');
    /** The markers as last read: the hooks aimed at us are released from the same read. */
    let markers: PreStopHook[] = [];
    const refresh = (): void => {
      markers = runningPreStopHooks(ipcDir(), this.#startTicks);
      for (const hook of markers) if (!this.#hooks.has(hook.pid)) this.#hooks.set(hook.pid, hook);
    };
    const running = (aimedAtUs: boolean): number[] => {
      const pids: number[] = [];
      for (const [pid, hook] of this.#hooks) {
        if (!hookRunning(hook)) this.#hooks.delete(pid); // gone: its pid may be reused
        else if ((hook.target === process.pid) === aimedAtUs) pids.push(pid);
      }
      return pids;
    };

    refresh();
    let waiting = running(false);
    if (waiting.length > 0) {
      this.#log.info({ pids: waiting }, 'waiting for the preStop hook to return');
      const deadline = until === 'grace' ? Date.now() + RELEASE_GRACE_MS : until;
      while (waiting.length > 0 && !hurry() && Date.now() < deadline) {
        await pause();
        refresh();
        waiting = running(false);
      }
      if (waiting.length > 0) this.#log.warn({ pids: waiting }, `preStop hook still running at ${until === 'grace' ? 'the end of its grace after the timeout' : 'the timeout'}; exiting anyway`);
      else this.#log.info('preStop hook returned');
    }

    const aimedAtUs = markers.filter((hook) => hook.target === process.pid);
    if (aimedAtUs.length === 0) return;
    for (const hook of aimedAtUs) releaseHook(hook);
    this.#log.info({ pids: aimedAtUs.map((hook) => hook.pid) }, 'released the preStop hook aimed at the supervisor');
    // The hook notices within its 50 ms poll; give it that even when the timeout is spent.
    const hookDeadline = Math.max(until === 'grace' ? 0 : until, Date.now() + RELEASE_GRACE_MS);
    while (aimedAtUs.some(hookRunning) && !hurry() && Date.now() < hookDeadline) {
      await pause();
    }
  }

  /**
   * Notes every preStop hook that starts while the supervisor runs and starts the timeout: in the
   * Kubernetes order the hook terminates the app before any SIGTERM reaches us, and an app that
   * hangs must still be killed at our timeout, not by the kubelet's SIGKILL.
   */
  async watch(onHookStarted: () => void, done: () => boolean): Promise<void> {
    const { readMarker, runningPreStopHooks } = await import('../ipc/prestop.js');
    const dir = ipcDir();
    const noteHook = (hook: PreStopHook): void => {
      if (this.#hooks.has(hook.pid)) return;
      this.#hooks.set(hook.pid, hook);
      this.#limited.log(PRESTOP_HOOK_STARTED, { hookPid: hook.pid, target: hook.target }, 'preStop hook started; the timeout runs from now');
      onHookStarted();
    };
    try {
      const watcher = watch(dir, (_event, name) => {
        if (typeof name !== 'string' || done()) return;
        const hook = readMarker(name, dir, this.#startTicks);
        if (hook) noteHook(hook);
      });
      // Markers left from an earlier run are removed; a hook that started before the watch is noted.
      for (const hook of runningPreStopHooks(dir, this.#startTicks)) noteHook(hook);
      watcher.on('error', () => watcher.close());
      watcher.unref();
    } catch (error) {
      this.#log.debug({ err: error }, 'cannot watch the IPC directory for preStop hooks');
    }
  }
}
