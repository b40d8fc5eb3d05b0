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
 * Orphans are reaped all along (src/supervisor/reaper.ts; the preStop handshake is src/supervisor/prestop-handshake.ts).
 * This file is that sequence; its state is one value (phase.ts), how the child is signalled is
 * child-signals.ts, the terminate socket (sent and received) terminate-socket.ts, the end of what
 * the child left leftovers.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { describeExecFailure } from './exec-failure.js';
import { createLineLogger } from '../log/logger.js';
import { SETTINGS } from '../contract/settings.js';
import { LogLimiter, type RepeatedEvent } from '../log/limit.js';
import { Reaper, becomeSubreaper } from './reaper.js';
import { FORWARDED_SIGNALS, exitStatus } from '../contract/signals.js';
import type { SuperviseOptions } from './types.js';
import { PreStopHandshake } from './prestop-handshake.js';
import { ChildSignals, killEverything } from './child-signals.js';
import { Poll, endLeftovers } from './leftovers.js';
import { listenOnSupervisorSocket, sendTerminate } from './terminate-socket.js';
import { childGone, cutShort, hurrying, type ChildExited, type Phase } from './phase.js';

/** A second SIGINT during termination: killed at once, like a shell's Ctrl-C. */
const EXIT_INTERRUPTED = 130;

/** Bind the supervisor's socket (loading unix-dgram) this long after start, off the start-up path. */
const WARM_UP_DELAY_MS = 50;

// Events that a sender outside the supervisor (signals, forks) can repeat at will: their records
// are rate-limited (src/log/limit.ts). Lifecycle records stay as they are.
const FORWARDED_SIGNAL: RepeatedEvent = { event: 'forwarded-signal', level: 'info', what: 'forwarded signals' };
const TERMINATION_SIGNAL_REPEATED: RepeatedEvent = { event: 'termination-signal-repeated', level: 'info', what: 'signals ignored during termination' };
const ORPHANS_REAPED: RepeatedEvent = { event: 'orphans-reaped', level: 'debug', what: '"orphans reaped" records', sum: 'count' };

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
  readonly #subreaper: boolean;
  /** Which signals start termination, and how one reaches the child. */
  readonly #signals: ChildSignals;
  readonly #log = createLineLogger('supervisor');
  readonly #limited = new LogLimiter(this.#log);
  /** Children libuv waits for; the reaper leaves them alone. */
  readonly #spawned = new Set<number>();
  #childPid = 0;
  #startedAt = 0;
  #phase: Phase = { name: 'running' };
  #reaper: Reaper | undefined;
  /** The preStop handshake: hooks seen, waited for and released. */
  readonly #hooks = new PreStopHandshake(this.#log, this.#limited);
  /** The polls after the child exited; a SIGINT then wakes them. */
  readonly #poll = new Poll();
  #resolve: (status: number) => void = () => {};
  #markDone: () => void = () => {};
  /** Resolves when the supervision ends (keeps the supervisor's socket callback 'running'). */
  readonly #done = new Promise<void>((resolve) => (this.#markDone = resolve));

  constructor(options: SuperviseOptions) {
    this.#command = options.command;
    this.#args = options.args ?? [];
    this.#timeoutMs = options.timeoutMs ?? SETTINGS.timeout.defaultValue;
    this.#timeoutExitCode = options.timeoutExitCode ?? SETTINGS.timeoutExitCode.defaultValue;
    this.#subreaper = options.subreaper ?? false;
    this.#signals = new ChildSignals(options);
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
      for (const signal of this.#signals.terminationSignals) process.on(signal, this.#onTerminationSignal);
      for (const signal of FORWARDED_SIGNALS) if (!this.#signals.terminationSignals.has(signal)) process.on(signal, this.#onForwardedSignal);

      this.#startedAt = Date.now();
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
      this.#log.info(
        { command: [this.#command, ...this.#args], childPid: child.pid, pid1, reaping, timeoutMs: this.#timeoutMs, ...this.#signals.startFields() },
        'supervisor started',
      );
      setTimeout(() => {
        void listenOnSupervisorSocket(this.#log, () => this.#phase.name === 'done', () => {
          this.beginTermination('SIGTERM');
          return this.#done;
        });
        void this.#hooks.watch(() => this.#startClock(false), () => this.#phase.name === 'done');
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
    const phase = this.#phase;
    if (phase.name === 'running' || (phase.name === 'terminating' && !phase.signalled)) this.#log.info({ signal }, 'signal received');
    this.beginTermination(signal);
  };

  readonly #onForwardedSignal = (signal: NodeJS.Signals): void => {
    const gone = childGone(this.#phase);
    const sent = gone ? undefined : this.#signals.send(this.#childPid, signal);
    const to = this.#signals.targetOf(this.#childPid);
    const changed = !gone && sent !== signal ? (sent ?? 'nothing (rewritten to 0)') : undefined;
    this.#limited.log(FORWARDED_SIGNAL, { signal, forwardedTo: sent ? to : undefined, sent: changed }, 'signal received');
  };

  /**
   * Starts termination: `terminate` to the pid file's process, else `signal` to the child.
   * A second SIGINT kills at once (exit 130); a SIGINT once the child has exited kills what it
   * left at once (its status stands); anything else while terminating is logged and ignored.
   */
  beginTermination(signal: NodeJS.Signals): void {
    const phase = this.#phase;
    if (phase.name === 'done') return;
    if (phase.name === 'child-exited') {
      if (signal === 'SIGINT' && !phase.hurry) {
        this.#log.warn({ signal }, 'SIGINT after the child exited; killing what it left now');
        this.#phase = { ...phase, hurry: true };
        this.#killEverything();
        this.#poll.wake();
        return;
      }
      this.#limited.log(TERMINATION_SIGNAL_REPEATED, { signal }, 'termination already under way; signal ignored');
      return;
    }
    if (phase.name === 'terminating' && phase.signalled) {
      if (signal === 'SIGINT' && phase.forced !== 'interrupted') {
        this.#log.warn({ signal }, 'second SIGINT during termination; killing the child now');
        this.#phase = { ...phase, forced: 'interrupted' };
        this.#killEverything();
        return;
      }
      this.#limited.log(TERMINATION_SIGNAL_REPEATED, { signal }, 'termination already under way; signal ignored');
      return;
    }
    this.#startClock(true);
    void this.#deliver(signal);
  }

  /**
   * Enters `terminating` and starts the timeout — unless a preStop hook already started it: a
   * signal then only marks it signalled, it does not restart the clock.
   */
  #startClock(signalled: boolean): void {
    const phase = this.#phase;
    if (phase.name === 'running') {
      this.#phase = { name: 'terminating', sinceMs: Date.now(), timer: setTimeout(this.#onTimeout, this.#timeoutMs), signalled };
    } else if (phase.name === 'terminating' && signalled && !phase.signalled) {
      this.#phase = { ...phase, signalled };
    }
  }

  /** `terminate` to the entrypoint named by the pid file, else the rewrite of `signal` to the child. */
  async #deliver(signal: NodeJS.Signals): Promise<void> {
    const reason = await sendTerminate(() => this.#remainingMs(), this.#log);
    if (reason === undefined || childGone(this.#phase)) return;
    this.#signals.sendInstead(this.#childPid, signal, reason, this.#log);
  }

  readonly #onTimeout = (): void => {
    const phase = this.#phase;
    if (phase.name !== 'terminating') return;
    this.#phase = { ...phase, forced: phase.forced ?? 'timeout' };
    this.#log.error({ timeoutMs: this.#timeoutMs, childPid: this.#childPid }, 'timeout: killing the child process group');
    this.#killEverything();
  };

  readonly #onChildExit = (code: number | null, signal: NodeJS.Signals | null): void => {
    const phase = this.#phase;
    if (phase.name === 'terminating') clearTimeout(phase.timer);
    this.#phase = {
      name: 'child-exited',
      sinceMs: phase.name === 'terminating' ? phase.sinceMs : undefined,
      forced: phase.name === 'terminating' ? phase.forced : undefined,
      hurry: false,
    };
    const status = exitStatus(code, signal);
    this.#log.info({ code, signal, status, durationMs: Date.now() - this.#startedAt }, 'child exited');
    void this.#finish(status);
  };

  async #finish(childStatus: number): Promise<void> {
    const { sinceMs, forced } = this.#phase as ChildExited;
    if (forced === undefined) {
      const deadline = (sinceMs ?? Date.now()) + this.#timeoutMs;
      await endLeftovers(deadline, { log: this.#log, limited: this.#limited, reaper: this.#reaper, hurry: () => hurrying(this.#phase), poll: this.#poll });
      await this.#hooks.awaitHooks(deadline, () => hurrying(this.#phase), () => this.#poll.pause());
    } else {
      this.#killEverything();
      // A hook aimed at the app sees it gone within its poll: let it return rather than cut it off
      // (not `hurrying`, which is true from here on: the timeout forced the end).
      if (forced === 'timeout') await this.#hooks.awaitHooks('grace', () => cutShort(this.#phase), () => this.#poll.pause());
    }
    this.#reaper?.sweep();
    this.#settle(forced === 'interrupted' ? EXIT_INTERRUPTED : forced === 'timeout' ? this.#timeoutExitCode : childStatus);
  }

  #remainingMs(): number {
    const phase = this.#phase;
    const sinceMs = phase.name === 'terminating' || phase.name === 'child-exited' ? (phase.sinceMs ?? Date.now()) : Date.now();
    return Math.max(0, sinceMs + this.#timeoutMs - Date.now());
  }

  /** SIGKILL to the child's process group, the child, and every living descendant. */
  #killEverything(): void {
    killEverything(childGone(this.#phase) ? undefined : this.#childPid);
  }

  #settle(status: number): void {
    const phase = this.#phase;
    if (phase.name === 'done') return;
    if (phase.name === 'terminating') clearTimeout(phase.timer);
    this.#phase = { name: 'done', status };
    this.#reaper?.stop();
    this.#limited.flush(); // the counts before the last record
    this.#log.info({ status }, 'supervisor exiting');
    this.#markDone();
    this.#resolve(status);
  }
}
