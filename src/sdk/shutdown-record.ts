/**
 * What a shutdown reports: how it began (the reason `deputy.signal` aborts with) and the one
 * record that ends it — the last log line of the shutdown, and what in-process observers (the
 * metrics) receive. docs/sdk.md, "The shutdown record", describes every field.
 */
import { DeputyError } from '../contract/errors.js';

/**
 * How a shutdown began: `terminate` — a `terminate` datagram (`deputy terminate`, the preStop
 * hook, `deputy supervise`) reached `gracefulTerminator`; `signal` — a signal reached
 * `gracefulTerminator` (`signal` names it); `crash` — an uncaught exception or unhandled
 * rejection with `shutdownOnCrash`; `call` — the app called `deputy.shutdown()` itself.
 */
export type ShutdownCause = 'terminate' | 'signal' | 'crash' | 'call';

/** Where the Deputy is: serving, or in one of the shutdown's phases, or finished. */
export type DeputyPhase = 'running' | 'delay' | 'drain' | 'handlers' | 'done';

/** The phases of a shutdown, in order. */
export type ShutdownPhase = Exclude<DeputyPhase, 'running'>;

/**
 * The reason `deputy.signal` aborts with: how shutdown began (`cause`), the signal for `signal`,
 * the error for `crash`. Work that stops because of it can tell a shutdown from its own aborts
 * (`signal.reason instanceof DeputyShutdown`).
 */
export class DeputyShutdown extends DeputyError {
  override readonly cause: ShutdownCause;
  /** The signal, when `cause` is `signal`. */
  readonly signal: NodeJS.Signals | undefined;
  /** The uncaught exception or rejection reason, when `cause` is `crash`. */
  readonly error: unknown;

  constructor(cause: ShutdownCause, signal?: NodeJS.Signals, error?: unknown) {
    const how = cause === 'signal' ? `${signal ?? 'a signal'}` : cause === 'terminate' ? 'a terminate request' : cause === 'crash' ? 'a crash' : 'deputy.shutdown()';
    super('EDEPUTY_SHUTDOWN', `the app is shutting down (began with ${how}): stop taking new work and finish or hand back what is in hand before the drain deadline`);
    this.cause = cause;
    this.signal = signal;
    this.error = error;
  }
}

/** How the drain delay ended. `skipped`: no attached server and no drain delay; `crash`: skipped after a crash. */
export type DelayReason = 'quiet' | 'cap' | 'skipped' | 'crash' | 'interrupted' | 'not_reached';
/** How the drain ended. `skipped`: nothing to drain (no server, no tracked work). */
export type DrainPhaseOutcome = 'drained' | 'deadline' | 'skipped' | 'interrupted' | 'not_reached';
/** How the handlers ended. `exited`: something called process.exit() meanwhile. */
export type HandlersOutcome = 'done' | 'none' | 'timeout' | 'failed' | 'exited' | 'interrupted' | 'not_reached';

/** Everything one shutdown did, in one object (and one log line). */
export interface ShutdownRecord {
  readonly cause: ShutdownCause;
  /** The signal, when `cause` is `signal`. */
  readonly signal?: NodeJS.Signals;
  /** From shutdown start to this record. */
  readonly durationMs: number;
  /** The exit status the process exits with. */
  readonly exitCode: number;
  readonly phases: {
    readonly delay: { readonly durationMs: number; readonly reason: DelayReason };
    readonly drain: { readonly durationMs: number; readonly outcome: DrainPhaseOutcome };
    readonly handlers: { readonly durationMs: number; readonly outcome: HandlersOutcome; readonly count: number };
  };
  readonly requests: {
    /** Requests (HTTP/1) and streams (HTTP/2) in flight on attached servers when shutdown began. */
    readonly inFlightAtStart: number;
    /** Requests and streams still running at the drain deadline, cut. */
    readonly cut: number;
  };
  readonly connections: {
    /** Ended after `Connection: close` or GOAWAY. */
    readonly closedGracefully: number;
    /** Keep-alive sockets closed idle, after their advertised timeout. */
    readonly closedIdle: number;
    /** Destroyed at the drain deadline (upgraded ones included). */
    readonly destroyed: number;
    /** Upgraded (WebSocket, CONNECT) connections among the destroyed. */
    readonly upgradedCut: number;
  };
  readonly tracked: {
    /** Tracked work running when shutdown began. */
    readonly inFlightAtStart: number;
    /** Tracked after shutdown began. */
    readonly startedDuringShutdown: number;
    /** Settled (resolved or rejected) before the drain deadline. */
    readonly finished: number;
    /** Of those, rejected. */
    readonly failed: number;
    /** Still running at the drain deadline. */
    readonly cut: number;
    /** Their names (the first 20). */
    readonly cutNames: readonly string[];
  };
}

/** How the final record is written. */
export interface Ending {
  readonly level: 'info' | 'error' | 'fatal';
  readonly msg: string;
  readonly fields?: Readonly<Record<string, unknown>>;
}

/**
 * How a shutdown ends once its handlers are done: failureExitCode when tracked work was cut at the
 * drain deadline or the shutdown followed a crash, else 0.
 */
export function endingAfterHandlers(trackedCut: number, how: DeputyShutdown, failureExitCode: number): { code: number; ending: Ending } {
  if (trackedCut > 0) {
    return {
      code: failureExitCode,
      ending: { level: 'error', msg: `shutdown finished with ${trackedCut} tracked work cut at the drain deadline (see the warning above); exiting with failureExitCode` },
    };
  }
  if (how.cause === 'crash') {
    return { code: failureExitCode, ending: { level: 'error', msg: 'shutdown after a crash finished; exiting with failureExitCode', fields: { err: how.error } } };
  }
  return { code: 0, ending: { level: 'info', msg: 'shutdown complete' } };
}
