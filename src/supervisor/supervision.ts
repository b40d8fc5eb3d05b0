/**
 * `deputy supervise`: the container's init process. The termination sequence, in order:
 * 1. spawn the command (no shell, stdio/cwd/env inherited, its own process group);
 * 2. pass signals on; on SIGTERM, SIGINT or a stop signal send `terminate` to the entrypoint named
 *    by the pid file at that moment, else the signal to the child, and start the timeout — which a
 *    preStop hook (`deputy terminate`, seen by its marker) starts too, since it terminates the app
 *    directly. Whatever goes to the child because of a received signal goes through the rewrites;
 * 3. at the timeout SIGKILL the child's process group and exit with the timeout status;
 * 4. when the child exits, SIGTERM what it left behind, wait for a running preStop hook (both
 *    bounded by what is left of the timeout), then exit with the child's status.
 * Orphans are reaped all along (src/reaper.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { describeExecFailure } from './exec-failure.js';
import { createLineLogger } from '../log/logger.js';
import { ipcDir, readEntrypointPid } from '../contract/protocol.js';
import { SETTINGS } from '../contract/settings.js';
import { processStartTime } from '../contract/proc.js';
import { LogLimiter, type RepeatedEvent } from '../log/limit.js';
import { Reaper, becomeSubreaper, livingDescendants } from './reaper.js';
import { FORWARDED_SIGNALS, TERMINATION_SIGNALS, exitStatus, parseRewrite, parseStopSignal, rewriteSignal, type SignalRewrites } from '../contract/signals.js';
import type { SuperviseOptions } from './types.js';
import type { PreStopHook } from '../ipc/prestop.js';

/** A second SIGINT during termination: killed at once, like a shell's Ctrl-C. */
export const EXIT_INTERRUPTED = 130;

/** Polling period while waiting for leftover processes and preStop hooks. */
const POLL_MS = 20;
/** Bind the supervisor's socket (loading unix-dgram) this long after start, off the start-up path. */
const WARM_UP_DELAY_MS = 50;
/** The least time a released preStop hook gets to return before the supervisor exits. */
const RELEASE_GRACE_MS = 1000;

// Events that a sender outside the supervisor (signals, forks, markers) can repeat at will: their
// records are rate-limited (src/log/limit.ts). Lifecycle records stay as they are.
const FORWARDED_SIGNAL: RepeatedEvent = { event: 'forwarded-signal', level: 'info', what: 'forwarded signals' };
const TERMINATION_SIGNAL_REPEATED: RepeatedEvent = { event: 'termination-signal-repeated', level: 'info', what: 'signals ignored during termination' };
const ORPHANS_REAPED: RepeatedEvent = { event: 'orphans-reaped', level: 'debug', what: '"orphans reaped" records', sum: 'count' };
const LEFTOVERS_SIGNALLED: RepeatedEvent = { event: 'leftovers-signalled', level: 'info', what: '"sending them SIGTERM" records', sum: 'count' };
const PRESTOP_HOOK_STARTED: RepeatedEvent = { event: 'prestop-hook-started', level: 'info', what: 'preStop hooks started' };

let terminatorModule: Promise<typeof import('../ipc/terminator.js')> | undefined;
const loadTerminator = (): Promise<typeof import('../ipc/terminator.js')> => (terminatorModule ??= import('../ipc/terminator.js'));

/** Runs the command under supervision; resolves with the status the supervisor should exit with (rejects with a UsageError for a bad signal option). */
export function supervise(options: SuperviseOptions): Promise<number> {
  try {
    return new Supervision(options).run();
  } catch (error) {
    return Promise.reject(error);
  }
}

class Supervision {
  readonly #command: string;
  readonly #args: readonly string[];
  readonly #timeoutMs: number;
  readonly #timeoutExitCode: number;
  readonly #processGroup: boolean;
  readonly #subreaper: boolean;
  /** Signals that start termination: SIGTERM, SIGINT and the stop signals. */
  readonly #terminationSignals: ReadonlySet<NodeJS.Signals>;
  readonly #rewrite: SignalRewrites;
  readonly #log = createLineLogger('supervisor');
  readonly #limited = new LogLimiter(this.#log);
  /** Children libuv waits for; the reaper leaves them alone. */
  readonly #spawned = new Set<number>();
  #childPid = 0;
  #startedAt = 0;
  #terminatingSince: number | undefined;
  #timeoutTimer: NodeJS.Timeout | undefined;
  #timedOut = false;
  /** Set by a second SIGINT: kill everything and exit with this. */
  #forcedStatus: number | undefined;
  /** Stop waiting for leftovers and preStop hooks (set by SIGINT). */
  #hurry = false;
  #childExited = false;
  #settled = false;
  #reaper: Reaper | undefined;
  /** preStop hooks seen while running, by pid; dropped once gone. */
  readonly #hooks = new Map<number, PreStopHook>();
  /** Our start time (ticks since boot): a marker of a process started earlier is stale. */
  #startTicks = 0;
  /** A termination signal (or socket terminate) has been handled: later ones are repeats. */
  #signalled = false;
  #resolve: (status: number) => void = () => {};
  #markDone: () => void = () => {};
  /** Resolves when the supervision ends (keeps the supervisor's socket callback 'running'). */
  readonly #done = new Promise<void>((resolve) => (this.#markDone = resolve));

  constructor(options: SuperviseOptions) {
    this.#command = options.command;
    this.#args = options.args ?? [];
    this.#timeoutMs = options.timeoutMs ?? SETTINGS.timeout.defaultValue;
    this.#timeoutExitCode = options.timeoutExitCode ?? SETTINGS.timeoutExitCode.defaultValue;
    this.#processGroup = options.processGroup ?? false;
    this.#subreaper = options.subreaper ?? false;
    // Checked again here for programmatic callers: a listener for SIGKILL throws, one for SIGCHLD breaks reaping.
    const stopSignals = (options.stopSignals ?? []).map((signal) => parseStopSignal(signal, 'stopSignals'));
    this.#terminationSignals = new Set([...TERMINATION_SIGNALS, ...stopSignals]);
    this.#rewrite = Object.fromEntries(Object.entries(options.rewrite ?? {}).map(([from, to]) => parseRewrite(`${from}:${to}`, 'rewrite')));
  }

  run(): Promise<number> {
    return new Promise((resolve) => {
      this.#resolve = resolve;
      const pid1 = process.pid === 1;
      if (this.#subreaper && !pid1) {
        try {
          becomeSubreaper();
        } catch (error) {
          this.#log.error({ err: error }, 'cannot become a subreaper; orphans will go to the real init');
        }
      }
      // Listeners first: as PID 1 a signal without one is silently dropped.
      for (const signal of this.#terminationSignals) process.on(signal, this.#onTerminationSignal);
      for (const signal of FORWARDED_SIGNALS) if (!this.#terminationSignals.has(signal)) process.on(signal, this.#onForwardedSignal);

      this.#startedAt = Date.now();
      this.#startTicks = processStartTime('self') ?? 0;
      let child: ChildProcess;
      try {
        child = spawn(this.#command, [...this.#args], { stdio: 'inherit', detached: true });
      } catch (error) {
        this.#onSpawnError(error as NodeJS.ErrnoException); // E2BIG, ENAMETOOLONG, ENOTDIR, …: thrown, not emitted
        return;
      }
      child.on('error', this.#onSpawnError);
      if (child.pid === undefined) return; // 'error' follows on the next tick
      this.#childPid = child.pid;
      this.#spawned.add(child.pid);
      child.on('exit', this.#onChildExit);

      const reaping = pid1 || this.#subreaper;
      if (reaping) {
        this.#reaper = new Reaper(
          this.#spawned,
          (pids) => this.#limited.log(ORPHANS_REAPED, { pids, count: pids.length }, 'orphans reaped'),
          (error) => this.#log.error({ err: error }, 'cannot reap orphans'),
        );
        this.#reaper.start();
      }
      const stopSignals = [...this.#terminationSignals].filter((signal) => !TERMINATION_SIGNALS.includes(signal));
      const rewrite = Object.keys(this.#rewrite).length > 0 ? this.#rewrite : undefined;
      this.#log.info(
        { command: [this.#command, ...this.#args], childPid: child.pid, pid1, reaping, timeoutMs: this.#timeoutMs, stopSignals: stopSignals.length > 0 ? stopSignals : undefined, rewrite },
        'supervisor started',
      );
      setTimeout(() => {
        void this.#listenForTerminate();
        void this.#watchPreStopHooks();
      }, WARM_UP_DELAY_MS).unref();
    });
  }

  /** The child's 'error' event, and what spawn() throws: either way the command could not start. */
  readonly #onSpawnError = (error: NodeJS.ErrnoException): void => {
    if (this.#childPid !== 0) {
      this.#log.error({ err: error }, 'child process error');
      return;
    }
    const { status, code, message } = describeExecFailure(this.#command, this.#args, process.env, error);
    this.#log.error({ command: this.#command, code, status, PATH: code === 'ENOENT' ? (process.env.PATH ?? '') : undefined }, message);
    this.#settle(status);
  };

  readonly #onTerminationSignal = (signal: NodeJS.Signals): void => {
    // A repeat is logged (rate-limited) by beginTermination, as ignored or as a second SIGINT.
    if (!this.#signalled && !this.#childExited) this.#log.info({ signal }, 'signal received');
    this.beginTermination(signal);
  };

  readonly #onForwardedSignal = (signal: NodeJS.Signals): void => {
    const sent = this.#childExited ? undefined : this.#signalChild(signal);
    const to = this.#processGroup ? -this.#childPid : this.#childPid;
    const changed = !this.#childExited && sent !== signal ? (sent ?? 'nothing (rewritten to 0)') : undefined;
    this.#limited.log(FORWARDED_SIGNAL, { signal, forwardedTo: sent ? to : undefined, sent: changed }, 'signal received');
  };

  /**
   * Starts termination: `terminate` to the pid file's process, else `signal` to the child.
   * A second SIGINT kills at once (exit 130); a SIGINT once the child has exited kills what it
   * left at once (its status stands); anything else while terminating is logged and ignored.
   */
  beginTermination(signal: NodeJS.Signals): void {
    if (this.#childExited) {
      if (signal === 'SIGINT' && !this.#hurry) {
        this.#log.warn({ signal }, 'SIGINT after the child exited; killing what it left now');
        this.#hurry = true;
        this.#killEverything();
        this.#wake?.();
        return;
      }
      this.#limited.log(TERMINATION_SIGNAL_REPEATED, { signal }, 'termination already under way; signal ignored');
      return;
    }
    if (this.#signalled) {
      if (signal === 'SIGINT' && this.#forcedStatus === undefined) {
        this.#log.warn({ signal }, 'second SIGINT during termination; killing the child now');
        this.#forcedStatus = EXIT_INTERRUPTED;
        this.#hurry = true;
        this.#killEverything();
        return;
      }
      this.#limited.log(TERMINATION_SIGNAL_REPEATED, { signal }, 'termination already under way; signal ignored');
      return;
    }
    this.#signalled = true;
    this.#startClock();
    void this.#deliver(signal);
  }

  /** Starts the timeout unless a preStop hook already started it (a signal then does not restart it). */
  #startClock(): void {
    if (this.#terminatingSince !== undefined || this.#childExited) return;
    this.#terminatingSince = Date.now();
    this.#timeoutTimer = setTimeout(this.#onTimeout, this.#timeoutMs);
  }

  async #deliver(signal: NodeJS.Signals): Promise<void> {
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
        const { gracefulTerminate } = await loadTerminator();
        await gracefulTerminate(target, { wait: false, timeoutMs: this.#remainingMs() });
        this.#log.info({ via: 'socket', target }, 'terminate sent');
        return;
      } catch (error) {
        reason = (error as Error).message;
      }
    }
    if (this.#childExited) return;
    const to = this.#processGroup ? -this.#childPid : this.#childPid;
    const rewritten = rewriteSignal(this.#rewrite, signal);
    if (rewritten === undefined) {
      this.#log.warn({ reason, signal }, `cannot send terminate, and the rewrite drops ${signal}: nothing is sent; the child is killed at the timeout unless it exits`);
      return;
    }
    this.#log.warn({ reason }, `cannot send terminate; sending ${rewritten} to the child instead`);
    this.#signalChild(signal);
    this.#log.info({ via: 'signal', signal: rewritten, received: rewritten !== signal ? signal : undefined, target: to }, 'terminate sent');
  }

  readonly #onTimeout = (): void => {
    if (this.#childExited) return;
    this.#timedOut = true;
    this.#log.error({ timeoutMs: this.#timeoutMs, childPid: this.#childPid }, 'timeout: killing the child process group');
    this.#killEverything();
  };

  readonly #onChildExit = (code: number | null, signal: NodeJS.Signals | null): void => {
    this.#childExited = true;
    const status = exitStatus(code, signal);
    this.#log.info({ code, signal, status, durationMs: Date.now() - this.#startedAt }, 'child exited');
    void this.#finish(status);
  };

  async #finish(childStatus: number): Promise<void> {
    if (this.#timeoutTimer) clearTimeout(this.#timeoutTimer);
    if (!this.#timedOut && this.#forcedStatus === undefined) {
      const deadline = (this.#terminatingSince ?? Date.now()) + this.#timeoutMs;
      await this.#endLeftovers(deadline);
      await this.#awaitPreStopHooks(deadline);
    } else {
      this.#killEverything();
      // A hook aimed at the app sees it gone within its poll: let it return rather than cut it off.
      if (this.#forcedStatus === undefined) await this.#awaitPreStopHooks(Date.now() + RELEASE_GRACE_MS);
    }
    this.#reaper?.sweep();
    this.#settle(this.#forcedStatus ?? (this.#timedOut ? this.#timeoutExitCode : childStatus));
  }

  /** The main child has exited: SIGTERM the processes it left, SIGKILL those still there at `deadline`. */
  async #endLeftovers(deadline: number): Promise<void> {
    const signalled = new Set<number>();
    for (;;) {
      this.#reaper?.sweep();
      const living = livingDescendants();
      if (living.length === 0) {
        if (signalled.size > 0) this.#log.info({ count: signalled.size }, 'leftover processes ended');
        return;
      }
      if (this.#hurry || Date.now() >= deadline) {
        this.#log.warn({ pids: living }, 'leftover processes still running at the timeout; killing them');
        for (const pid of living) this.#kill(pid, 'SIGKILL');
        return;
      }
      const fresh = living.filter((pid) => !signalled.has(pid));
      if (fresh.length > 0) {
        this.#limited.log(LEFTOVERS_SIGNALLED, { pids: fresh, count: fresh.length }, 'the child exited and left processes running; sending them SIGTERM');
        for (const pid of fresh) {
          signalled.add(pid);
          this.#kill(pid, 'SIGTERM');
        }
      }
      await this.#pause();
    }
  }

  /**
   * Kubernetes records FailedPreStopHook if PID 1 exits before the hook returns. Run once the
   * child has exited, so every hook that could have made it exit has its marker in place (the
   * ordering invariant in src/prestop.ts). Hooks aimed at the app: wait until their processes
   * have exited (their markers are then stale and removed). Hooks aimed at the supervisor itself
   * cannot outlive it: release them (they then return 0) and wait for them to exit. All within
   * the timeout.
   */
  async #awaitPreStopHooks(deadline: number): Promise<void> {
    const { hookRunning, releaseHook, runningPreStopHooks } = await import('../ipc/prestop.js');
    const refresh = (): void => {
      for (const hook of runningPreStopHooks(ipcDir(), this.#startTicks)) if (!this.#hooks.has(hook.pid)) this.#hooks.set(hook.pid, hook);
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
      while (waiting.length > 0 && !this.#hurry && Date.now() < deadline) {
        await this.#pause();
        refresh();
        waiting = running(false);
      }
      if (waiting.length > 0) this.#log.warn({ pids: waiting }, 'preStop hook still running at the timeout; exiting anyway');
      else this.#log.info('preStop hook returned');
    }

    const aimedAtUs = runningPreStopHooks(ipcDir(), this.#startTicks).filter((hook) => hook.target === process.pid);
    if (aimedAtUs.length === 0) return;
    for (const hook of aimedAtUs) releaseHook(hook);
    this.#log.info({ pids: aimedAtUs.map((hook) => hook.pid) }, 'released the preStop hook aimed at the supervisor');
    // The hook notices within its 50 ms poll; give it that even when the timeout is spent.
    const hookDeadline = Math.max(deadline, Date.now() + RELEASE_GRACE_MS);
    while (aimedAtUs.some(hookRunning) && !this.#hurry && Date.now() < hookDeadline) {
      await this.#pause();
    }
  }

  /**
   * Notes every preStop hook that starts while the supervisor runs and starts the timeout: in the
   * Kubernetes order the hook terminates the app before any SIGTERM reaches us, and an app that
   * hangs must still be killed at our timeout, not by the kubelet's SIGKILL.
   */
  async #watchPreStopHooks(): Promise<void> {
    const [{ watch }, { readMarker, runningPreStopHooks }] = await Promise.all([import('node:fs'), import('../ipc/prestop.js')]);
    const dir = ipcDir();
    const noteHook = (hook: PreStopHook): void => {
      if (this.#hooks.has(hook.pid)) return;
      this.#hooks.set(hook.pid, hook);
      this.#limited.log(PRESTOP_HOOK_STARTED, { hookPid: hook.pid, target: hook.target }, 'preStop hook started; the timeout runs from now');
      this.#startClock();
    };
    try {
      const watcher = watch(dir, (_event, name) => {
        if (typeof name !== 'string' || this.#settled) return;
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

  /** Binds the supervisor's own terminator socket: a `terminate` there starts the same sequence. */
  async #listenForTerminate(): Promise<void> {
    try {
      const { listenForTerminate } = await loadTerminator();
      if (this.#settled) return;
      listenForTerminate(
        () => {
          this.#log.info('terminate received on the supervisor socket');
          this.beginTermination('SIGTERM');
          return this.#done;
        },
        { setEntrypoint: false, signals: [] },
        this.#log,
      );
    } catch (error) {
      this.#log.debug({ err: error }, 'supervisor socket not bound; deputy terminate reaches the app through its pid file only');
    }
  }

  #wake: (() => void) | undefined;

  /** Sleeps one poll period, or less when a second SIGINT arrives. */
  #pause(): Promise<void> {
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

  #remainingMs(): number {
    return Math.max(0, (this.#terminatingSince ?? Date.now()) + this.#timeoutMs - Date.now());
  }

  /** Sends the child (or its group) the rewrite of a received `signal`; returns what was sent. */
  #signalChild(signal: NodeJS.Signals): NodeJS.Signals | undefined {
    const sent = rewriteSignal(this.#rewrite, signal);
    if (sent !== undefined) this.#kill(this.#processGroup ? -this.#childPid : this.#childPid, sent);
    return sent;
  }

  /** SIGKILL to the child's process group, the child, and every living descendant. */
  #killEverything(): void {
    if (!this.#childExited) {
      this.#kill(-this.#childPid, 'SIGKILL');
      this.#kill(this.#childPid, 'SIGKILL');
    }
    for (const pid of livingDescendants()) this.#kill(pid, 'SIGKILL');
  }

  #kill(pid: number, signal: NodeJS.Signals): void {
    if (pid === 0) return;
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }

  #settle(status: number): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#reaper?.stop();
    this.#limited.flush(); // the counts before the last record
    this.#log.info({ status }, 'supervisor exiting');
    this.#markDone();
    this.#resolve(status);
  }
}
