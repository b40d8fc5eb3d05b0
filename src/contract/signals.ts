/** Which signals the supervisor handles, and how a child's end becomes an exit status. */
import { constants } from 'node:os';

/** Signals that start graceful termination (`terminate` to the app, else the signal to the child). */
export const TERMINATION_SIGNALS: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];

/**
 * Signals passed on to the child unchanged. SIGUSR1 is among them, so that a listener always
 * exists and it never opens the supervisor's Node inspector.
 */
export const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = [
  'SIGHUP',
  'SIGQUIT',
  'SIGUSR1',
  'SIGUSR2',
  'SIGALRM',
  'SIGSTKFLT',
  'SIGCONT',
  'SIGTSTP',
  'SIGURG',
  'SIGXCPU',
  'SIGXFSZ',
  'SIGVTALRM',
  'SIGPROF',
  'SIGWINCH',
  'SIGIO',
  'SIGPWR',
];

/**
 * Signals deliberately not forwarded, and why (documented in `--help` and the README):
 * KILL and STOP cannot be caught; CHLD drives reaping; TTIN and TTOU concern the supervisor's own
 * terminal; PIPE is about the supervisor's own output; ILL, TRAP, ABRT, BUS, FPE, SEGV and SYS
 * report crashes and keep their default action; Node cannot catch real-time signals (34–64).
 */
export const NOT_FORWARDED_SIGNALS: readonly NodeJS.Signals[] = [
  'SIGKILL',
  'SIGSTOP',
  'SIGCHLD',
  'SIGTTIN',
  'SIGTTOU',
  'SIGPIPE',
  'SIGILL',
  'SIGTRAP',
  'SIGABRT',
  'SIGBUS',
  'SIGFPE',
  'SIGSEGV',
  'SIGSYS',
];

/** The signal's number on this platform (SIGTERM → 15). */
function signalNumber(signal: NodeJS.Signals): number {
  return constants.signals[signal];
}

/** The shell's convention: the exit code, or 128 + the number of the signal that killed it. */
export function exitStatus(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  return signal ? 128 + signalNumber(signal) : 1;
}
