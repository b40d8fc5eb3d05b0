/**
 * How the supervisor signals its child: which received signals start termination, the rewrites a
 * signal goes through on its way to the child (as dumb-init's `--rewrite`), whether it goes to
 * the child or to its process group, and the SIGKILL of everything at a hard end. Kept apart so
 * that supervision.ts says when a signal is sent, and this file how.
 */
import { TERMINATION_SIGNALS, parseRewrite, parseStopSignal, rewriteSignal, type SignalRewrites } from '../contract/signals.js';
import type { LineLogger } from '../log/logger.js';
import { livingDescendants } from './reaper.js';
import type { SuperviseOptions } from './types.js';

/** The signal options of a supervision, checked, and the sending that follows them. */
export class ChildSignals {
  /** Signals that start termination: SIGTERM, SIGINT and the stop signals. */
  readonly terminationSignals: ReadonlySet<NodeJS.Signals>;
  readonly #rewrite: SignalRewrites;
  readonly #processGroup: boolean;

  /** Throws a UsageError for a bad stop signal or rewrite. */
  constructor(options: SuperviseOptions) {
    this.#processGroup = options.processGroup ?? false;
    // Checked again here for programmatic callers: a listener for SIGKILL throws, one for SIGCHLD breaks reaping.
    const stopSignals = (options.stopSignals ?? []).map((signal) => parseStopSignal(signal, 'stopSignals'));
    this.terminationSignals = new Set([...TERMINATION_SIGNALS, ...stopSignals]);
    this.#rewrite = Object.fromEntries(Object.entries(options.rewrite ?? {}).map(([from, to]) => parseRewrite(`${from}:${to}`, 'rewrite')));
  }

  /** The options as the start record shows them: the stop signals and the rewrites, if any. */
  startFields(): { stopSignals: NodeJS.Signals[] | undefined; rewrite: SignalRewrites | undefined } {
    const stopSignals = [...this.terminationSignals].filter((signal) => !TERMINATION_SIGNALS.includes(signal));
    const rewrite = Object.keys(this.#rewrite).length > 0 ? this.#rewrite : undefined;
    return { stopSignals: stopSignals.length > 0 ? stopSignals : undefined, rewrite };
  }

  /** Where a signal for the child goes: its process group with `processGroup`, else the child. */
  targetOf(childPid: number): number {
    return this.#processGroup ? -childPid : childPid;
  }

  /** Sends the child (or its group) the rewrite of a received `signal`; returns what was sent. */
  send(childPid: number, signal: NodeJS.Signals): NodeJS.Signals | undefined {
    const sent = rewriteSignal(this.#rewrite, signal);
    if (sent !== undefined) kill(this.targetOf(childPid), sent);
    return sent;
  }

  /** `terminate` could not be sent (`reason`): sends the child the rewrite of `signal` instead, and logs what was sent. */
  sendInstead(childPid: number, signal: NodeJS.Signals, reason: string, log: LineLogger): void {
    const rewritten = rewriteSignal(this.#rewrite, signal);
    if (rewritten === undefined) {
      log.warn({ reason, signal }, `cannot send terminate, and the rewrite drops ${signal}: nothing is sent; the child is killed at the timeout unless it exits`);
      return;
    }
    log.warn({ reason }, `cannot send terminate; sending ${rewritten} to the child instead`);
    this.send(childPid, signal);
    log.info({ via: 'signal', signal: rewritten, received: rewritten !== signal ? signal : undefined, target: this.targetOf(childPid) }, 'terminate sent');
  }
}

/** SIGKILL to the child's process group and the child (`childPid` undefined once it is gone), and every living descendant. */
export function killEverything(childPid: number | undefined): void {
  if (childPid !== undefined) {
    kill(-childPid, 'SIGKILL');
    kill(childPid, 'SIGKILL');
  }
  for (const pid of livingDescendants()) kill(pid, 'SIGKILL');
}

/** `process.kill`, for a process that may already be gone; pid 0 (no child yet) is skipped. */
export function kill(pid: number, signal: NodeJS.Signals): void {
  if (pid === 0) return;
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}
