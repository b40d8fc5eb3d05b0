import type { SignalRewrites } from '../contract/signals.js';

/** Options of `supervise(options)` — what `deputy supervise` runs with. */
export interface SuperviseOptions {
  /** The command: a path, or a name looked up in PATH. Run without a shell. */
  readonly command: string;
  /** Its arguments. Default: none. */
  readonly args?: readonly string[];
  /**
   * Milliseconds from the start of termination (SIGTERM, SIGINT or a `terminate` datagram) until
   * the child's process group is killed with SIGKILL. Also bounds the wait for the processes the
   * child leaves behind and for a running preStop hook. Default: 25000 (under Kubernetes' 30 s).
   */
  readonly timeoutMs?: number;
  /** Exit status after the timeout killed the child. Default: 137 (128 + SIGKILL). */
  readonly timeoutExitCode?: number;
  /**
   * More signals that start graceful termination exactly like SIGTERM (`terminate` over the
   * socket, else the signal to the child; the timeout), for an image's STOPSIGNAL or a pod's
   * `lifecycle.stopSignal`. Only signals the supervisor listens to (not SIGCHLD, crash or terminal
   * signals). SIGTERM and SIGINT always are. Default: none.
   */
  readonly stopSignals?: readonly NodeJS.Signals[];
  /**
   * What a received signal becomes on its way to the child, as dumb-init's `--rewrite`: applies to
   * forwarded signals and to the signal sent when `terminate` cannot be (the rewrite of the signal
   * received), not to which signals start termination. 0 drops it. Default: none.
   */
  readonly rewrite?: SignalRewrites;
  /** Send forwarded signals, and the signal of the graceless path, to the child's whole process group. Default: false. */
  readonly processGroup?: boolean;
  /**
   * Become a child subreaper (`prctl(PR_SET_CHILD_SUBREAPER)`) so orphaned descendants are reaped
   * and ended by the supervisor when it is not PID 1. As PID 1 this is implied. Default: false.
   */
  readonly subreaper?: boolean;
}
