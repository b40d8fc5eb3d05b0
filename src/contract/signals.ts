/** Which signals the supervisor handles, and how a child's end becomes an exit status. */
import { constants } from 'node:os';
import { UsageError } from './errors.js';

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

/**
 * A signal as people write it — `SIGQUIT`, `QUIT` (any case) or its number `3` — as its name.
 * Throws a {@link UsageError} naming `what` for an unknown signal, and for SIGKILL and SIGSTOP,
 * which no process can catch.
 */
export function parseSignal(text: string, what = 'signal'): NodeJS.Signals {
  const trimmed = text.trim();
  let name: string | undefined;
  if (/^[0-9]+$/.test(trimmed)) {
    const number = Number(trimmed);
    name = Object.keys(constants.signals).find((signal) => constants.signals[signal as NodeJS.Signals] === number);
  } else {
    const upper = trimmed.toUpperCase();
    const candidate = upper.startsWith('SIG') ? upper : `SIG${upper}`;
    if (Object.hasOwn(constants.signals, candidate)) name = candidate;
  }
  if (name === undefined) {
    throw new UsageError(`${what}: unknown signal ${JSON.stringify(text)}; write a name (SIGQUIT or QUIT) or a number (3)`);
  }
  if (name === 'SIGKILL' || name === 'SIGSTOP') {
    throw new UsageError(`${what}: ${name} cannot be caught, so it cannot start a graceful termination; use SIGTERM, SIGINT, SIGQUIT, SIGUSR1 or the like`);
  }
  return name as NodeJS.Signals;
}
