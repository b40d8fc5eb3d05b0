/**
 * What runs as a container's PID 1 and which signals it treats as "terminate". Without `command`
 * the image's ENTRYPOINT runs — documented as `deputy supervise --` — so it counts as the
 * supervisor. The SDK takes SIGTERM and SIGINT; deputy supervise and the shim also the signals of
 * DEPUTY_STOP_SIGNALS (and deputy supervise those of `--stop-signal`). A signal DEPUTY_REWRITE
 * turns into SIGTERM or SIGINT reaches the app as that, so its own shutdown starts (the
 * entrypoint's timeout does not). Any other signal they only pass on to the app.
 */
import { SETTINGS } from '../../contract/settings.js';
import { TERMINATION_SIGNALS, parseSignal, parseStopSignal } from '../../contract/signals.js';
import { get, type Json, type Path, type Problem } from './types.js';

/** `image`: no command, so the image's ENTRYPOINT runs (documented: deputy supervise). */
export type Entrypoint = 'image' | 'supervisor' | 'shim' | 'command';

/** An env value: undefined when unset (or empty), null when decided at run time (valueFrom). */
export type EnvValue = (variable: string) => { readonly text: string; readonly index: number } | null | undefined;

const SUPERVISE = /(^|[\s/])deputy(\.js)?\s+supervise(\s|$)/;
const SHIM = /(^|[\s/])supervise\.sh(\s|$)/;
/** Supervisor options that take a value (the rest are flags). */
const VALUE_OPTIONS = new Set(['--timeout', '--timeout-exit-code', '--stop-signal']);
/** Valid stop signals that no process can use to start a shutdown. */
const UNCATCHABLE = /^SIG(KILL|STOP|RTMIN|RTMAX)/;

export function entrypointOf(command: readonly string[]): Entrypoint {
  const text = command.join(' ');
  return command.length === 0 ? 'image' : SUPERVISE.test(text) ? 'supervisor' : SHIM.test(text) ? 'shim' : 'command';
}

/** The supervisor's options (before `--` or the command) in an argv that runs it, possibly via `sh -c`. */
export function supervisorOptions(argv: readonly string[]): Array<[string, string | undefined]> {
  const tokens = argv.flatMap((word) => word.split(/\s+/)).filter(Boolean);
  const start = tokens.findIndex((token, i) => (token === 'supervise' && /(^|\/)deputy(\.js)?$/.test(tokens[i - 1] ?? '')) || token.endsWith('supervise.sh'));
  const options: Array<[string, string | undefined]> = [];
  if (start < 0) return options;
  for (let i = start + 1; i < tokens.length; i += 1) {
    const token = tokens[i]!;
    if (token === '--' || !token.startsWith('-')) break;
    const eq = token.indexOf('=');
    if (token.startsWith('--') && eq > 0) options.push([token.slice(0, eq), token.slice(eq + 1)]);
    else if (VALUE_OPTIONS.has(token)) options.push([token, tokens[(i += 1)]]);
    else options.push([token, undefined]);
  }
  return options;
}

/** The signals the entrypoint treats as termination, and the words that say why. */
export function terminationSignals(
  entrypoint: Entrypoint,
  options: ReadonlyArray<[string, string | undefined]>,
  envValue: EnvValue,
  path: Path,
  problems: Problem[],
): { signals: ReadonlySet<NodeJS.Signals>; source: string } {
  const signals = new Set<NodeJS.Signals>(TERMINATION_SIGNALS);
  if (entrypoint === 'command') return { signals, source: 'the app (the Deputy SDK listens for SIGTERM and SIGINT)' };
  const sources: string[] = [];
  const add = (text: string, where: string, at: Path): void => {
    try {
      signals.add(parseStopSignal(text, where));
    } catch {
      problems.push({
        path: at,
        message: `${where} names ${JSON.stringify(text)}, which is not a signal that can start a graceful termination: the entrypoint refuses to start (usage error, exit 2)`,
        fix: 'name signals the entrypoint listens to, e.g. SIGQUIT, QUIT or 3 (not SIGKILL, SIGSTOP, SIGCHLD, a crash or a real-time signal)',
      });
    }
  };
  for (const [option, value] of entrypoint === 'shim' ? [] : options) {
    if (option !== '--stop-signal') continue;
    add(value ?? '', '--stop-signal', [...path, 'command']);
    sources.push(`--stop-signal ${value ?? ''}`);
  }
  const listed = envValue(SETTINGS.stopSignals.env);
  if (listed) {
    for (const text of listed.text.split(',').filter((s) => s.trim() !== '')) add(text, SETTINGS.stopSignals.env, [...path, 'env', listed.index, 'value']);
    sources.push(`${SETTINGS.stopSignals.env}=${listed.text}`);
  }
  const rewrite = envValue(SETTINGS.rewrite.env);
  for (const pair of rewrite ? rewrite.text.split(',') : []) {
    const [from = '', to = ''] = pair.split(':');
    try {
      if (TERMINATION_SIGNALS.includes(parseSignal(to))) signals.add(parseSignal(from));
    } catch {
      // the supervisor rejects a bad pair itself; it makes no termination signal either way
    }
  }
  if (rewrite) sources.push(`${SETTINGS.rewrite.env}=${rewrite.text}`);
  const name = entrypoint === 'shim' ? 'shim/supervise.sh' : 'deputy supervise';
  return { signals, source: `${name} (SIGTERM, SIGINT${sources.length ? `, ${sources.join(', ')}` : ''})` };
}

/** lifecycle.stopSignal as written, and the signal it names when a process can catch it. */
export function readStopSignal(spec: Json, path: Path, problems: Problem[]): { text: string; signal?: NodeJS.Signals } | undefined {
  const text = get(spec, ['lifecycle', 'stopSignal']);
  if (typeof text !== 'string') return undefined;
  try {
    return { text, signal: parseSignal(text) };
  } catch {
    // SIGKILL, SIGSTOP and the real-time signals are valid but start no shutdown (rule
    // stop-signal-unhandled); anything else is not a signal at all.
    if (!UNCATCHABLE.test(text)) {
      problems.push({
        path: [...path, 'lifecycle', 'stopSignal'],
        message: `lifecycle.stopSignal ${JSON.stringify(text)} is not a signal name, so the API server rejects the pod`,
        fix: 'write a signal name with its SIG prefix, e.g. stopSignal: SIGTERM',
      });
    }
    return { text };
  }
}
