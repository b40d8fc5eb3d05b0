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
import { entrypointOf, readStopSignal, supervisorOptions, terminationSignals, type Entrypoint, type EnvValue } from './entrypoint.js';
import { formatMs, get, isObject, words, type Json, type Path, type Problem } from './types.js';

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
  readonly entrypoint: Entrypoint;
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

  const envValue: EnvValue = (variable) => {
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
  const entrypoint = entrypointOf(command);
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

  const signals = terminationSignals(entrypoint, options, envValue, path, problems);
  const stopSignal = readStopSignal(spec, path, problems);

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
    terminationSignals: signals.signals,
    terminationSignalsSource: signals.source,
    ...(ipcDir !== undefined ? { ipcDir } : {}),
    problems,
  };
}
