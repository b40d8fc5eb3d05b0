/**
 * One container as the rules see it: whether it shows k8s-deputy, what runs as its entrypoint,
 * and its side of the termination timeline, all from the manifest with k8s-deputy's own defaults
 * (src/contract/settings.ts) where a value is unset:
 * - S: the preStop hook's sleep (`sleep` action or an exec `sleep N`) [0]; `deputy terminate` as
 *   the hook starts the app's shutdown at once, so it adds nothing;
 * - D: DEPUTY_DRAIN_DELAY [5 s under Kubernetes]; G: DEPUTY_GRACE_PERIOD [30 s], the app's deadline;
 * - K: DEPUTY_TIMEOUT or `deputy supervise --timeout` [25 s], the supervisor's SIGKILL;
 * - probes (httpGet, exec, tcpSocket, grpc) with Kubernetes' defaults;
 * - the signal the kubelet stops it with, and the signals its entrypoint treats as termination.
 * Values that cannot be read become `problems` (rule invalid-value), never exceptions.
 */
import { parseDuration } from '../../contract/duration.js';
import { DEFAULT_IPC_DIR } from '../../contract/protocol.js';
import { KUBERNETES_DEFAULTS, KUBERNETES_DRAIN_DELAY_MS, SETTINGS, type Setting } from '../../contract/settings.js';
import { TERMINATION_SIGNALS, parseSignal } from '../../contract/signals.js';
import { formatMs, get, isObject, words, type Json, type Path } from './types.js';

/** A duration with the words that say where it came from: `DEPUTY_TIMEOUT 25s (the default)`. */
export interface Timed {
  readonly ms: number;
  readonly label: string;
}

export interface PreStop {
  readonly present: boolean;
  /** Time the hook holds back the stop signal, in milliseconds. */
  readonly sleepMs: number;
  readonly argv: readonly string[];
  /** The hook runs `deputy terminate` (or the shim's equivalent): shutdown starts when the hook does. */
  readonly terminates: boolean;
}

export interface Probe {
  readonly field: 'readinessProbe' | 'livenessProbe' | 'startupProbe';
  /** The path of the httpGet request without its query. */
  readonly httpPath?: string;
  readonly exec: readonly string[];
  /** `port/service` of a grpc probe. */
  readonly grpc?: string;
  readonly periodSeconds: number;
  readonly failureThreshold: number;
  /** Probe-level terminationGracePeriodSeconds (KEP-2238), when set to a number. */
  readonly graceSeconds?: number;
}

/** A value in the manifest that cannot be read. */
export interface Problem {
  readonly path: Path;
  readonly message: string;
  readonly fix: string;
}

export interface Container {
  readonly name: string;
  readonly path: Path;
  readonly spec: Json;
  /** An `initContainers` entry with `restartPolicy: Always`. */
  readonly sidecar: boolean;
  /** It shows k8s-deputy: a DEPUTY_* variable, a deputy preStop hook, command, args or exec probe, or the shim. */
  readonly deputy: boolean;
  readonly image: string;
  readonly command: readonly string[];
  readonly args: readonly string[];
  /** `image`: no command, so the image's ENTRYPOINT runs (documented: deputy supervise). */
  readonly entrypoint: 'image' | 'supervisor' | 'shim' | 'command';
  readonly preStop: PreStop;
  /** undefined: decided at run time (valueFrom) or unreadable (then a problem is recorded). */
  readonly drain?: Timed;
  readonly deadline?: Timed;
  readonly timeout?: Timed;
  readonly timeoutFromFlag: boolean;
  readonly envPath: Path;
  readonly readiness?: Probe;
  readonly liveness?: Probe;
  readonly startup?: Probe;
  /** lifecycle.stopSignal as written, and the signal it names when it is one Node knows. */
  readonly stopSignal?: { readonly text: string; readonly signal?: NodeJS.Signals };
  /** Signals the entrypoint treats as "terminate", and what says so. */
  readonly terminationSignals: ReadonlySet<NodeJS.Signals>;
  readonly terminationSignalsSource: string;
  /** The IPC directory, or undefined when it comes from valueFrom. */
  readonly ipcDir?: string;
  readonly problems: readonly Problem[];
}

const DEPUTY_WORD = /(^|[\s/])deputy(\.js)?(\s|$)|supervise\.sh|(^|[\s/])probe\.sh(\s|$)/;
const SUPERVISE = /(^|[\s/])deputy(\.js)?\s+supervise(\s|$)/;
const SHIM = /(^|[\s/])supervise\.sh(\s|$)/;
/** Supervisor options that take a value (the rest are flags). */
const VALUE_OPTIONS = new Set(['--timeout', '--timeout-exit-code', '--stop-signal']);

function envEntries(container: Json): Json[] {
  return Array.isArray(container.env) ? container.env.filter(isObject) : [];
}

/** True when the container shows k8s-deputy anywhere deputy lint can see. */
export function showsDeputy(container: Json): boolean {
  if (envEntries(container).some((entry) => typeof entry.name === 'string' && entry.name.startsWith('DEPUTY_'))) return true;
  const argvs = [words(container.command), words(container.args), words(get(container, ['lifecycle', 'preStop', 'exec', 'command']))];
  for (const field of ['livenessProbe', 'readinessProbe', 'startupProbe']) argvs.push(words(get(container, [field, 'exec', 'command'])));
  return argvs.some((argv) => DEPUTY_WORD.test(argv.join(' ')));
}

/** The supervisor's options (before `--` or the command) in an argv that runs it, possibly via `sh -c`. */
function supervisorOptions(argv: readonly string[]): Array<[string, string | undefined]> {
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

function readPreStop(container: Json, problems: Problem[], path: Path): PreStop {
  const hook = get(container, ['lifecycle', 'preStop']);
  if (!isObject(hook)) return { present: false, sleepMs: 0, argv: [], terminates: false };
  if (isObject(hook.sleep)) {
    const seconds = hook.sleep.seconds;
    if (typeof seconds === 'number' && Number.isInteger(seconds) && seconds >= 0) return { present: true, sleepMs: seconds * 1000, argv: [], terminates: false };
    problems.push({
      path: [...path, 'lifecycle', 'preStop', 'sleep', 'seconds'],
      message: `preStop sleep seconds ${JSON.stringify(seconds)} is not a whole number of seconds, so the API server rejects the pod`,
      fix: 'write a non-negative integer, e.g. sleep: { seconds: 5 } (0 is allowed from Kubernetes 1.33)',
    });
    return { present: true, sleepMs: 0, argv: [], terminates: false };
  }
  const argv = words(get(hook, ['exec', 'command']));
  const text = argv.join(' ');
  const sleep = /(^|[\s/;&|])sleep\s+([0-9]+(?:\.[0-9]+)?)(s)?(\s|;|&|\||$)/.exec(text);
  const terminates = /(^|[\s/])deputy(\.js)?\s+terminate(\s|$)/.test(text);
  return { present: true, sleepMs: sleep ? Math.round(Number(sleep[2]) * 1000) : 0, argv, terminates };
}

function readProbe(container: Json, field: Probe['field']): Probe | undefined {
  const probe = container[field];
  if (!isObject(probe)) return undefined;
  const httpPath = get(probe, ['httpGet', 'path']);
  const grpc = probe.grpc;
  const period = probe.periodSeconds;
  const threshold = probe.failureThreshold;
  const grace = probe.terminationGracePeriodSeconds;
  const defaults = KUBERNETES_DEFAULTS.probe;
  return {
    field,
    ...(typeof httpPath === 'string' ? { httpPath: httpPath.split('?', 1)[0] || '/' } : {}),
    exec: words(get(probe, ['exec', 'command'])),
    ...(isObject(grpc) ? { grpc: `${String(grpc.port)}/${typeof grpc.service === 'string' ? grpc.service : ''}` } : {}),
    periodSeconds: typeof period === 'number' && period > 0 ? period : defaults.periodSeconds,
    failureThreshold: typeof threshold === 'number' && threshold > 0 ? threshold : defaults.failureThreshold,
    ...(typeof grace === 'number' && grace >= 0 ? { graceSeconds: grace } : {}),
  };
}

/** Reads one container (a regular one or a native sidecar) of a pod spec. */
export function readContainer(spec: Json, path: Path, sidecar: boolean): Container {
  const problems: Problem[] = [];
  const name = String(spec.name);
  const rawEnv = Array.isArray(spec.env) ? spec.env : [];
  const envPath: Path = Array.isArray(spec.env) ? [...path, 'env'] : path;

  /** An env value: undefined when unset (or empty), null when decided at run time. */
  const envValue = (variable: string): { text: string; index: number } | null | undefined => {
    const index = rawEnv.findIndex((entry) => isObject(entry) && entry.name === variable);
    if (index < 0) return undefined;
    const entry = rawEnv[index] as Json;
    if (entry.value === undefined) return entry.valueFrom === undefined ? undefined : null;
    const text = String(entry.value);
    return text === '' ? undefined : { text, index };
  };
  const duration = (setting: Setting<unknown>, fallbackMs: number, who: string): Timed | undefined => {
    const value = envValue(setting.env);
    if (value === null) return undefined;
    if (value === undefined) return { ms: fallbackMs, label: `${setting.env} ${formatMs(fallbackMs)} (the default)` };
    try {
      const ms = parseDuration(value.text, setting.env);
      return { ms, label: `${setting.env} ${formatMs(ms)}` };
    } catch {
      problems.push({
        path: [...path, 'env', value.index, 'value'],
        message: `${setting.env}=${JSON.stringify(value.text)} is not a duration, so the ${who} cannot start`,
        fix: 'write a duration such as "5s", "500ms" or "1m"',
      });
      return undefined;
    }
  };

  const command = words(spec.command);
  const args = words(spec.args);
  const commandText = command.join(' ');
  const entrypoint: Container['entrypoint'] =
    command.length === 0 ? 'image' : SUPERVISE.test(commandText) ? 'supervisor' : SHIM.test(commandText) ? 'shim' : 'command';
  const options = entrypoint === 'command' ? [] : supervisorOptions([...command, ...args]);

  let timeout: Timed | undefined;
  const timeoutFlag = options.filter(([option]) => option === '--timeout').pop();
  if (timeoutFlag) {
    const flag = timeoutFlag[1] ?? '';
    try {
      const ms = parseDuration(flag, '--timeout');
      timeout = { ms, label: `deputy supervise --timeout ${formatMs(ms)}` };
    } catch {
      problems.push({ path: [...path, 'command'], message: `deputy supervise --timeout ${JSON.stringify(flag)} is not a duration, so the supervisor cannot start`, fix: 'write a duration such as "25s"' });
    }
  } else {
    timeout = duration(SETTINGS.timeout, SETTINGS.timeout.defaultValue, 'supervisor');
  }
  const drain = duration(SETTINGS.drainDelay, KUBERNETES_DRAIN_DELAY_MS, 'app');
  const deadline = duration(SETTINGS.gracePeriod, SETTINGS.gracePeriod.defaultValue, 'app');

  // What the entrypoint treats as termination: the SDK and the shim take SIGTERM and SIGINT; the
  // supervisor also the signals of --stop-signal and DEPUTY_STOP_SIGNALS, and those DEPUTY_REWRITE
  // turns into SIGTERM or SIGINT.
  const terminationSignals = new Set<NodeJS.Signals>(TERMINATION_SIGNALS);
  const sources: string[] = [];
  if (entrypoint === 'image' || entrypoint === 'supervisor') {
    const addSignal = (text: string, where: string, at: Path): void => {
      try {
        terminationSignals.add(parseSignal(text, where));
      } catch (error) {
        problems.push({ path: at, message: `${(error as Error).message}, so the supervisor cannot start`, fix: 'name a signal the supervisor can catch, e.g. SIGQUIT, QUIT or 3' });
      }
    };
    for (const [option, value] of options) {
      if (option === '--stop-signal') {
        addSignal(value ?? '', '--stop-signal', [...path, 'command']);
        sources.push(`--stop-signal ${value ?? ''}`);
      }
    }
    const listed = envValue(SETTINGS.stopSignals.env);
    if (listed) {
      for (const text of listed.text.split(',').filter((s) => s.trim() !== '')) addSignal(text, SETTINGS.stopSignals.env, [...path, 'env', listed.index, 'value']);
      sources.push(`${SETTINGS.stopSignals.env}=${listed.text}`);
    }
    const rewrite = envValue(SETTINGS.rewrite.env);
    for (const pair of rewrite ? rewrite.text.split(',') : []) {
      const [from = '', to = ''] = pair.split(':');
      try {
        if (TERMINATION_SIGNALS.includes(parseSignal(to))) terminationSignals.add(parseSignal(from));
      } catch {
        // the supervisor itself rejects a bad pair at start; not a termination signal either way
      }
    }
    if (rewrite) sources.push(`${SETTINGS.rewrite.env}=${rewrite.text}`);
  }
  const source = entrypoint === 'command' ? 'the app (the Deputy SDK listens for SIGTERM and SIGINT)' : entrypoint === 'shim' ? 'shim/supervise.sh (SIGTERM and SIGINT)' : `deputy supervise (SIGTERM, SIGINT${sources.length ? `, ${sources.join(', ')}` : ''})`;

  const stopText = get(spec, ['lifecycle', 'stopSignal']);
  let stopSignal: Container['stopSignal'];
  if (typeof stopText === 'string') {
    try {
      stopSignal = { text: stopText, signal: parseSignal(stopText) };
    } catch {
      // SIGKILL, SIGSTOP and the real-time signals are valid but cannot start a shutdown (rule
      // stop-signal-unhandled); anything else is not a signal at all.
      stopSignal = { text: stopText };
      if (!/^SIG(KILL|STOP|RTMIN|RTMAX)/.test(stopText)) {
        problems.push({
          path: [...path, 'lifecycle', 'stopSignal'],
          message: `lifecycle.stopSignal ${JSON.stringify(stopText)} is not a signal name, so the API server rejects the pod`,
          fix: 'write a signal name with its SIG prefix, e.g. stopSignal: SIGTERM',
        });
      }
    }
  }

  const ipc = envValue(SETTINGS.ipcDir.env);
  const ipcDir = ipc === null ? undefined : ipc === undefined ? DEFAULT_IPC_DIR : ipc.text.replace(/(.)\/+$/, '$1');

  const readiness = readProbe(spec, 'readinessProbe');
  const liveness = readProbe(spec, 'livenessProbe');
  const startup = readProbe(spec, 'startupProbe');
  return {
    name,
    path,
    spec,
    sidecar,
    deputy: showsDeputy(spec),
    image: typeof spec.image === 'string' ? spec.image : '',
    command,
    args,
    entrypoint,
    preStop: readPreStop(spec, problems, path),
    ...(drain ? { drain } : {}),
    ...(deadline ? { deadline } : {}),
    ...(timeout ? { timeout } : {}),
    timeoutFromFlag: timeoutFlag !== undefined,
    envPath,
    ...(readiness ? { readiness } : {}),
    ...(liveness ? { liveness } : {}),
    ...(startup ? { startup } : {}),
    ...(stopSignal ? { stopSignal } : {}),
    terminationSignals,
    terminationSignalsSource: source,
    ...(ipcDir !== undefined ? { ipcDir } : {}),
    problems,
  };
}
