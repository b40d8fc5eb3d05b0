/**
 * Which signals the supervisor handles, how people write them (names with or without SIG, any
 * case, or numbers: `SIGQUIT`, `QUIT`, `3` — as `kill` and Docker's STOPSIGNAL take them), and
 * how a child's end becomes an exit status.
 */
import { UsageError } from './errors.js';

/**
 * This platform's signal numbers. node:os is loaded on the first use, not with this module: the
 * supervisor needs a number only when the child dies of a signal or a flag names one, and loading
 * node:os costs every start ≈ 0.3 ms.
 */
let signalNumbers: typeof import('node:os').constants.signals | undefined;
const numbers = (): typeof import('node:os').constants.signals => (signalNumbers ??= process.getBuiltinModule('node:os').constants.signals);

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
  return numbers()[signal];
}

/** The shell's convention: the exit code, or 128 + the number of the signal that killed it. */
export function exitStatus(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  return signal ? 128 + signalNumber(signal) : 1;
}

/**
 * A signal as people write it — `SIGQUIT`, `QUIT` (any case) or its number `3` — as its name.
 * Aliases become the usual name (`IOT` → SIGABRT, `POLL` → SIGIO). Throws a {@link UsageError}
 * naming `what` for an unknown or real-time signal, and for SIGKILL and SIGSTOP, which no process
 * can catch.
 */
export function parseSignal(text: string, what = 'signal'): NodeJS.Signals {
  const name = signalName(text, what);
  if (name === 'SIGKILL' || name === 'SIGSTOP') {
    throw new UsageError(`${what}: ${name} cannot be caught, so it cannot start a graceful termination; use SIGTERM, SIGINT, SIGQUIT, SIGUSR1 or the like`);
  }
  return name;
}

/** Any signal of this platform, SIGKILL and SIGSTOP included; UsageError naming `what` otherwise. */
function signalName(text: string, what: string): NodeJS.Signals {
  const trimmed = text.trim();
  const upper = trimmed.toUpperCase();
  const number = /^[0-9]{1,3}$/.test(trimmed) ? Number(trimmed) : (numbers() as Record<string, number | undefined>)[upper.startsWith('SIG') ? upper : `SIG${upper}`];
  // The first name of a number is the usual one (SIGABRT before SIGIOT, SIGIO before SIGPOLL).
  const name = number === undefined ? undefined : (Object.keys(numbers()) as NodeJS.Signals[]).find((signal) => numbers()[signal] === number);
  if (name !== undefined) return name;
  if (/^(SIG)?RTM(IN|AX)/.test(upper) || (number !== undefined && number >= 32 && number <= 64)) {
    throw new UsageError(`${what}: ${JSON.stringify(text)} is a real-time signal; they are not supported (Node cannot listen to them): use a standard signal such as SIGQUIT, SIGUSR1 or SIGWINCH`);
  }
  throw new UsageError(`${what}: unknown signal ${JSON.stringify(text)}; write a name (SIGQUIT or QUIT) or a number (3)`);
}

/** Why the supervisor cannot listen to a signal it does not forward (for error messages). */
function whyNotHandled(signal: NodeJS.Signals): string {
  if (signal === 'SIGCHLD') return 'the supervisor needs SIGCHLD to reap its children';
  if (signal === 'SIGTTIN' || signal === 'SIGTTOU') return `${signal} concerns the supervisor's own terminal`;
  if (signal === 'SIGPIPE') return "SIGPIPE concerns the supervisor's own output";
  return `${signal} reports a crash and keeps its default action`;
}

/** Signals the supervisor listens to: the termination signals and the forwarded ones. */
export const HANDLED_SIGNALS: readonly NodeJS.Signals[] = [...TERMINATION_SIGNALS, ...FORWARDED_SIGNALS];

/**
 * A signal that may start graceful termination like SIGTERM (`--stop-signal`): one the
 * supervisor listens to — not SIGCHLD (reaping), nor a crash or terminal signal.
 */
export function parseStopSignal(text: string, what = 'stop signal'): NodeJS.Signals {
  const signal = parseSignal(text, what);
  if (!HANDLED_SIGNALS.includes(signal)) {
    throw new UsageError(`${what}: ${signal} cannot be a stop signal: ${whyNotHandled(signal)}; use one of ${HANDLED_SIGNALS.map((s) => s.slice(3)).join(' ')}`);
  }
  return signal;
}

/** A comma-separated list of stop signals (`SIGQUIT,WINCH,28`), duplicates dropped; empty items are skipped. */
export function parseStopSignals(text: string, what = 'stop signals'): NodeJS.Signals[] {
  const signals = new Set<NodeJS.Signals>();
  for (const item of text.split(',')) if (item.trim() !== '') signals.add(parseStopSignal(item, what));
  return [...signals];
}

/** What a signal becomes on its way to the child; 0 drops it. */
export type SignalRewrite = NodeJS.Signals | 0;
/** Rewrites by the signal received. */
export type SignalRewrites = Readonly<Partial<Record<NodeJS.Signals, SignalRewrite>>>;

/**
 * One `from:to` pair, as dumb-init's `--rewrite 15:3` (here names work too: `TERM:QUIT`). `from`
 * must be a signal the supervisor listens to; `to` is any signal — SIGSTOP and SIGKILL included,
 * as in dumb-init — or 0, which drops the signal.
 */
export function parseRewrite(text: string, what = 'rewrite'): [NodeJS.Signals, SignalRewrite] {
  const parts = text.split(':');
  if (parts.length !== 2 || parts[0]!.trim() === '' || parts[1]!.trim() === '') {
    throw new UsageError(`${what}: ${JSON.stringify(text)} is not a from:to pair; write e.g. TERM:QUIT or 15:3 (to 0 drops the signal)`);
  }
  const from = signalName(parts[0]!, what);
  if (!HANDLED_SIGNALS.includes(from)) {
    const why = from === 'SIGKILL' || from === 'SIGSTOP' ? `${from} cannot be caught` : whyNotHandled(from);
    throw new UsageError(`${what}: ${from} cannot be rewritten: the supervisor never passes it on (${why}); rewrite one of ${HANDLED_SIGNALS.map((s) => s.slice(3)).join(' ')}`);
  }
  const to = parts[1]!.trim() === '0' ? 0 : signalName(parts[1]!, what);
  return [from, to];
}

/** A comma-separated list of pairs (`TERM:QUIT,HUP:0`); a later pair for the same signal wins. */
export function parseRewrites(text: string, what = 'rewrites'): Partial<Record<NodeJS.Signals, SignalRewrite>> {
  const rewrites: Partial<Record<NodeJS.Signals, SignalRewrite>> = {};
  for (const item of text.split(',')) {
    if (item.trim() === '') continue;
    const [from, to] = parseRewrite(item, what);
    rewrites[from] = to;
  }
  return rewrites;
}

/** The signal the child gets for `signal`: its rewrite, itself, or undefined when rewritten to 0. */
export function rewriteSignal(rewrites: SignalRewrites, signal: NodeJS.Signals): NodeJS.Signals | undefined {
  const to = Object.hasOwn(rewrites, signal) ? rewrites[signal] : signal;
  return to === 0 ? undefined : to;
}
