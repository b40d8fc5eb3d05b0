/**
 * `deputy lint`: reads Kubernetes manifests and reports the timing and wiring mistakes that make a
 * graceful termination fail — each with its fix. Pure: manifest text in, findings out; the CLI
 * does the reading and printing.
 *
 * The numbers it checks, all from the pod spec (defaults in brackets):
 * - T: `terminationGracePeriodSeconds` [30 s] — SIGKILL comes T after the pod is deleted;
 * - S: the preStop hook's sleep (`sleep` action or an exec `sleep N`) [0] — SIGTERM comes after it;
 *   `deputy terminate` as the hook starts the app's shutdown at once, so it adds nothing;
 * - D: `DEPUTY_DRAIN_DELAY` [5 s under Kubernetes] — the app keeps serving while endpoints go;
 * - G: `DEPUTY_GRACE_PERIOD` [30 s] — the app's own deadline for delay + drain + handlers;
 * - K: `DEPUTY_TIMEOUT` or `deputy supervise --timeout` [25 s] — the supervisor's SIGKILL;
 * - readiness `periodSeconds` [10] × `failureThreshold` [3].
 * A safe configuration orders them: readiness period × threshold ≤ D < G ≤ K and S + K < T.
 */
import { LineCounter, parseAllDocuments } from 'yaml';
import { parseDuration } from '../../contract/duration.js';
import { DeputyError } from '../../contract/errors.js';
import { DEFAULT_IPC_DIR, IPC_DIR_ENV } from '../../contract/protocol.js';

/** Kubernetes' default `terminationGracePeriodSeconds`. */
export const DEFAULT_TERMINATION_GRACE_SECONDS = 30;
/** The drain delay the SDK uses under Kubernetes when `DEPUTY_DRAIN_DELAY` is not set. */
export const DEFAULT_DRAIN_DELAY_MS = 5000;
/** The app's deadline (delay + drain + handlers) when `DEPUTY_GRACE_PERIOD` is not set. */
export const DEFAULT_GRACE_PERIOD_MS = 30_000;
/** The supervisor's timeout when neither `--timeout` nor `DEPUTY_TIMEOUT` is set. */
export const DEFAULT_SUPERVISOR_TIMEOUT_MS = 25_000;
/** Kubernetes' probe defaults. */
export const DEFAULT_PROBE_PERIOD_SECONDS = 10;
export const DEFAULT_PROBE_FAILURE_THRESHOLD = 3;

export const DRAIN_DELAY_ENV = 'DEPUTY_DRAIN_DELAY';
export const GRACE_PERIOD_ENV = 'DEPUTY_GRACE_PERIOD';
export const SUPERVISOR_TIMEOUT_ENV = 'DEPUTY_TIMEOUT';

/** Readiness paths of the Deputy health server; liveness must not point at them. */
const READINESS_PATHS = new Set(['/readyz', '/health/ready']);

export type Severity = 'error' | 'warning';

/** Every rule, its severity and what it protects. Errors make `deputy lint` exit 1. */
export const LINT_RULES = {
  'grace-period-budget': { severity: 'error', summary: "preStop sleep + the app's deadline (DEPUTY_GRACE_PERIOD) must fit in terminationGracePeriodSeconds" },
  'drain-delay-budget': { severity: 'error', summary: "the drain delay must be shorter than the app's deadline, leaving time to drain and run handlers" },
  'supervisor-timeout': { severity: 'error', summary: 'preStop sleep + the supervisor timeout must end before terminationGracePeriodSeconds' },
  'supervisor-before-app-deadline': { severity: 'warning', summary: "the supervisor timeout should not cut the app off before its own deadline" },
  'readiness-slower-than-drain': { severity: 'warning', summary: 'readiness periodSeconds × failureThreshold should not exceed the drain delay' },
  'liveness-uses-readiness': { severity: 'error', summary: 'liveness must not probe the readiness endpoint (it fails during shutdown)' },
  'command-overrides-entrypoint': { severity: 'error', summary: '`command` replaces the image ENTRYPOINT (deputy supervise); put the app in `args`' },
  'readonly-root-without-ipc-volume': { severity: 'error', summary: 'a read-only root filesystem needs a writable volume at the IPC directory (/run)' },
  'missing-readiness-probe': { severity: 'error', summary: 'a serving container needs a readiness probe' },
  'missing-liveness-probe': { severity: 'warning', summary: 'a serving container should have a liveness probe' },
  'no-deputy-container': { severity: 'warning', summary: 'no container of the pod shows k8s-deputy, so nothing was checked' },
  'unknown-kind': { severity: 'warning', summary: 'an object of a kind deputy lint does not know was not checked (a typo, or a custom resource)' },
  'invalid-value': { severity: 'error', summary: 'a duration or number in the manifest cannot be read' },
} as const satisfies Record<string, { severity: Severity; summary: string }>;

export type RuleId = keyof typeof LINT_RULES;

/** One mistake found, with where it is and how to fix it. */
export interface LintFinding {
  readonly rule: RuleId;
  readonly severity: Severity;
  readonly message: string;
  readonly fix: string;
  /** Source name given to {@link lintManifest} (a file name, or `-` for stdin). */
  readonly file: string;
  /** 1-based index of the YAML document. */
  readonly document: number;
  readonly kind: string;
  readonly name: string;
  /** The container the finding is about; absent for pod-level findings. */
  readonly container?: string;
  /** Dotted path of the offending field, e.g. `spec.template.spec.containers[0].env`. */
  readonly path: string;
  /** 1-based line of that field (or of its nearest existing parent). */
  readonly line?: number;
}

/** A workload that was checked, or an object that was skipped. */
export interface LintObject {
  readonly document: number;
  readonly kind: string;
  readonly name: string;
}

export interface LintResult {
  readonly file: string;
  readonly findings: readonly LintFinding[];
  readonly workloads: readonly LintObject[];
  /** Objects that are not workloads (Service, ConfigMap, …): nothing to check in them. */
  readonly skipped: readonly LintObject[];
}

/** The manifest cannot be linted at all: not YAML, not Kubernetes, no workload. Exit 2. */
export class ManifestError extends DeputyError {
  readonly file: string;
  constructor(file: string, problem: string) {
    super('EDEPUTY_MANIFEST', `${file}: ${problem}`);
    this.file = file;
  }
}

type Path = ReadonlyArray<string | number>;
type Json = Record<string, unknown>;

/** Where each workload kind keeps its pod spec. */
const POD_SPEC_PATH: Readonly<Record<string, Path>> = {
  Pod: ['spec'],
  Deployment: ['spec', 'template', 'spec'],
  StatefulSet: ['spec', 'template', 'spec'],
  DaemonSet: ['spec', 'template', 'spec'],
  ReplicaSet: ['spec', 'template', 'spec'],
  Job: ['spec', 'template', 'spec'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
  Rollout: ['spec', 'template', 'spec'], // Argo Rollouts: a Deployment by another name
};
/** Kinds that hold no pod spec: skipped without a word. Any other kind gets an `unknown-kind` warning. */
const NON_WORKLOAD_KINDS = new Set([
  'Service', 'Endpoints', 'EndpointSlice', 'Ingress', 'IngressClass', 'NetworkPolicy', 'Gateway', 'HTTPRoute', 'GRPCRoute',
  'ConfigMap', 'Secret', 'ServiceAccount', 'Namespace', 'LimitRange', 'ResourceQuota', 'PriorityClass',
  'Role', 'RoleBinding', 'ClusterRole', 'ClusterRoleBinding',
  'PersistentVolume', 'PersistentVolumeClaim', 'StorageClass', 'VolumeSnapshot',
  'PodDisruptionBudget', 'HorizontalPodAutoscaler', 'VerticalPodAutoscaler', 'ServiceMonitor', 'PodMonitor', 'PrometheusRule',
  'CustomResourceDefinition', 'ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration', 'Certificate', 'Issuer', 'ClusterIssuer',
]);
/** Kinds that run to completion: they serve no traffic, so no probe rules. */
const BATCH_KINDS = new Set(['Job', 'CronJob']);

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function get(value: unknown, path: Path): unknown {
  let here = value;
  for (const key of path) {
    if (typeof key === 'number' ? !Array.isArray(here) : !isObject(here)) return undefined;
    here = (here as Record<string | number, unknown>)[key];
  }
  return here;
}

function pathText(path: Path): string {
  return path.map((key, i) => (typeof key === 'number' ? `[${key}]` : i === 0 ? key : `.${key}`)).join('');
}

/** Milliseconds as people write them in manifests: 5s, 2.5s, 250ms. */
export function formatMs(ms: number): string {
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  if (ms >= 1000) return `${Number((ms / 1000).toFixed(3))}s`;
  return `${ms}ms`;
}

function words(value: unknown): string[] {
  return Array.isArray(value) ? value.map((item) => String(item)) : [];
}

/** True when an argv (possibly `sh -c "…"`) runs `deputy supervise` or the shim. */
function runsSupervisor(argv: readonly string[]): boolean {
  const text = argv.join(' ');
  return /(^|[\s/])deputy(\.js)?\s+supervise(\s|$)/.test(text) || /(^|[\s/])supervise\.sh(\s|$)/.test(text);
}

function mentionsDeputy(argv: readonly string[]): boolean {
  return /(^|[\s/])deputy(\.js)?(\s|$)|supervise\.sh/.test(argv.join(' '));
}

/** `--timeout X` / `--timeout=X` given to `deputy supervise` before `--`, if any. */
function supervisorTimeoutFlag(argv: readonly string[]): string | undefined {
  const tokens = argv.flatMap((word) => word.split(/\s+/));
  const start = tokens.findIndex((token, i) => token === 'supervise' || token.endsWith('supervise.sh') || (i > 0 && tokens[i - 1]?.endsWith('supervise.sh')));
  if (start < 0) return undefined;
  for (let i = start + 1; i < tokens.length; i += 1) {
    const token = tokens[i]!;
    if (token === '--') break;
    if (token === '--timeout') return tokens[i + 1];
    if (token.startsWith('--timeout=')) return token.slice('--timeout='.length);
  }
  return undefined;
}

/** What a preStop hook does to the timeline. */
interface PreStop {
  /** Time the hook holds back SIGTERM, in milliseconds. */
  readonly sleepMs: number;
  readonly argv: readonly string[];
}

function readPreStop(container: Json): PreStop {
  const hook = get(container, ['lifecycle', 'preStop']);
  if (!isObject(hook)) return { sleepMs: 0, argv: [] };
  const sleepSeconds = get(hook, ['sleep', 'seconds']);
  if (typeof sleepSeconds === 'number' && sleepSeconds > 0) return { sleepMs: sleepSeconds * 1000, argv: [] };
  const argv = words(get(hook, ['exec', 'command']));
  const text = argv.join(' ');
  const sleep = /(^|[\s/;&|])sleep\s+([0-9]+(?:\.[0-9]+)?)(s)?(\s|;|&|\||$)/.exec(text);
  return { sleepMs: sleep ? Math.round(Number(sleep[2]) * 1000) : 0, argv };
}

interface Probe {
  readonly path?: string;
  readonly exec: readonly string[];
  readonly periodSeconds: number;
  readonly failureThreshold: number;
}

function readProbe(container: Json, field: string): Probe | undefined {
  const probe = container[field];
  if (!isObject(probe)) return undefined;
  const rawPath = get(probe, ['httpGet', 'path']);
  const period = probe.periodSeconds;
  const threshold = probe.failureThreshold;
  return {
    ...(typeof rawPath === 'string' ? { path: rawPath.split('?', 1)[0] || '/' } : {}),
    exec: words(get(probe, ['exec', 'command'])),
    periodSeconds: typeof period === 'number' && period > 0 ? period : DEFAULT_PROBE_PERIOD_SECONDS,
    failureThreshold: typeof threshold === 'number' && threshold > 0 ? threshold : DEFAULT_PROBE_FAILURE_THRESHOLD,
  };
}

/** Collects findings for one workload. */
class WorkloadLinter {
  readonly findings: LintFinding[] = [];

  constructor(
    private readonly file: string,
    private readonly document: number,
    private readonly kind: string,
    private readonly name: string,
    private readonly lineOf: (path: Path) => number | undefined,
  ) {}

  report(rule: RuleId, path: Path, message: string, fix: string, container?: string): void {
    const line = this.lineOf(path);
    this.findings.push({
      rule,
      severity: LINT_RULES[rule].severity,
      message,
      fix,
      file: this.file,
      document: this.document,
      kind: this.kind,
      name: this.name,
      ...(container !== undefined ? { container } : {}),
      path: pathText(path),
      ...(line !== undefined ? { line } : {}),
    });
  }

  lintPod(spec: Json, specPath: Path): void {
    const containers = spec.containers as Json[];
    const graceRaw = spec.terminationGracePeriodSeconds;
    let graceMs: number | undefined = DEFAULT_TERMINATION_GRACE_SECONDS * 1000;
    let graceNote = ' (the default)';
    if (graceRaw !== undefined) {
      graceNote = '';
      if (typeof graceRaw === 'number' && Number.isInteger(graceRaw) && graceRaw >= 0) {
        graceMs = graceRaw * 1000;
      } else {
        graceMs = undefined;
        this.report('invalid-value', [...specPath, 'terminationGracePeriodSeconds'], `terminationGracePeriodSeconds ${JSON.stringify(graceRaw)} is not a whole number of seconds`, 'write a non-negative integer, e.g. terminationGracePeriodSeconds: 30');
      }
    }

    const marked = containers.map((container) => this.usesDeputy(container));
    let checked = containers.map((_, i) => marked[i]!);
    if (!marked.some(Boolean)) {
      if (containers.length === 1) {
        checked = [true]; // one container: it is the app, whatever its manifest says
      } else {
        this.report(
          'no-deputy-container',
          [...specPath, 'containers'],
          `none of the ${containers.length} containers shows k8s-deputy (no DEPUTY_* variable, deputy preStop hook or deputy command), so none was checked`,
          `set a DEPUTY_* variable (e.g. ${GRACE_PERIOD_ENV}) or the preStop hook [deputy, terminate] on the container that runs the app`,
        );
      }
    }
    containers.forEach((container, index) => {
      if (checked[index]) this.lintContainer(spec, specPath, container, index, graceMs, graceNote);
    });
  }

  private usesDeputy(container: Json): boolean {
    const env = Array.isArray(container.env) ? container.env : [];
    if (env.some((entry) => isObject(entry) && typeof entry.name === 'string' && entry.name.startsWith('DEPUTY_'))) return true;
    const argvs = [words(container.command), words(container.args), readPreStop(container).argv];
    for (const field of ['livenessProbe', 'readinessProbe', 'startupProbe']) argvs.push(words(get(container, [field, 'exec', 'command'])));
    return argvs.some(mentionsDeputy);
  }

  /** A duration from the container's env: the value, undefined when unknowable, or the default. */
  private envDuration(container: Json, path: Path, name: string, fallbackMs: number, who: string): { ms: number; label: string } | undefined {
    const env = Array.isArray(container.env) ? container.env : [];
    const index = env.findIndex((entry) => isObject(entry) && entry.name === name);
    if (index < 0) return { ms: fallbackMs, label: `${name} ${formatMs(fallbackMs)} (the default)` };
    const entry = env[index] as Json;
    if (entry.value === undefined) return undefined; // valueFrom: decided at run time
    const text = String(entry.value);
    try {
      const ms = parseDuration(text, name);
      return { ms, label: `${name} ${formatMs(ms)}` };
    } catch {
      this.report('invalid-value', [...path, 'env', index, 'value'], `${name}=${JSON.stringify(text)} is not a duration, so the ${who} cannot start`, `write a duration such as "5s", "500ms" or "1m"`, String(container.name));
      return undefined;
    }
  }

  private lintContainer(spec: Json, specPath: Path, container: Json, index: number, graceMs: number | undefined, graceNote: string): void {
    const name = String(container.name);
    const path: Path = [...specPath, 'containers', index];
    const command = words(container.command);
    const args = words(container.args);
    const preStop = readPreStop(container);
    const preStopPath: Path = [...path, 'lifecycle', 'preStop'];
    const graceLabel = `terminationGracePeriodSeconds ${graceMs === undefined ? '?' : graceMs / 1000}${graceNote}`;
    const gracePath: Path = spec.terminationGracePeriodSeconds === undefined ? specPath : [...specPath, 'terminationGracePeriodSeconds'];
    const sleepMs = preStop.sleepMs;
    const sleepLabel = sleepMs > 0 ? `the preStop sleep ${formatMs(sleepMs)} + ` : '';

    // `command` replaces ENTRYPOINT; `args` only CMD. Without command the image decides (we assume
    // the documented ENTRYPOINT ["deputy", "supervise", "--"]).
    const overridden = command.length > 0 && !runsSupervisor(command);
    const supervised = !overridden;
    if (overridden) {
      this.report(
        'command-overrides-entrypoint',
        [...path, 'command'],
        `command ${JSON.stringify(command)} replaces the image's ENTRYPOINT, so deputy supervise does not run: no supervisor timeout, no signal forwarding, no zombie reaping`,
        `move it to args (args replaces only CMD): args: ${JSON.stringify([...command, ...args])}; or start command with ["deputy", "supervise", "--"]`,
        name,
      );
    }

    const drain = this.envDuration(container, path, DRAIN_DELAY_ENV, DEFAULT_DRAIN_DELAY_MS, 'app');
    const deadline = this.envDuration(container, path, GRACE_PERIOD_ENV, DEFAULT_GRACE_PERIOD_MS, 'app');
    let timeout: { ms: number; label: string } | undefined;
    const flag = supervisorTimeoutFlag(command);
    if (flag !== undefined) {
      try {
        const ms = parseDuration(flag, '--timeout');
        timeout = { ms, label: `deputy supervise --timeout ${formatMs(ms)}` };
      } catch {
        this.report('invalid-value', [...path, 'command'], `deputy supervise --timeout ${JSON.stringify(flag)} is not a duration, so the supervisor cannot start`, 'write a duration such as "25s"', name);
      }
    } else {
      timeout = this.envDuration(container, path, SUPERVISOR_TIMEOUT_ENV, DEFAULT_SUPERVISOR_TIMEOUT_MS, 'supervisor');
    }
    const envPath: Path = Array.isArray(container.env) ? [...path, 'env'] : path;

    if (graceMs !== undefined && deadline) {
      if (sleepMs >= graceMs) {
        this.report(
          'grace-period-budget',
          preStopPath,
          `the preStop sleep ${formatMs(sleepMs)} uses all of ${graceLabel}: the app gets SIGTERM no earlier than the kubelet's SIGKILL`,
          `shorten the sleep (DEPUTY_DRAIN_DELAY already keeps serving while endpoints are removed; [deputy, terminate] is the better hook) or raise terminationGracePeriodSeconds`,
          name,
        );
      } else if (sleepMs + deadline.ms > graceMs) {
        const room = graceMs - sleepMs;
        this.report(
          'grace-period-budget',
          gracePath,
          `${sleepLabel}the app's deadline for drain delay, drain and shutdown handlers, ${deadline.label}, = ${formatMs(sleepMs + deadline.ms)} exceeds ${graceLabel}: the kubelet SIGKILLs the app before it finishes or gives up by itself`,
          `set ${GRACE_PERIOD_ENV} to ${formatMs(room)} or less, or terminationGracePeriodSeconds to ${Math.ceil((sleepMs + deadline.ms) / 1000)} or more`,
          name,
        );
      }
    }

    if (drain && deadline && drain.ms >= deadline.ms) {
      this.report(
        'drain-delay-budget',
        envPath,
        `the drain delay ${drain.label} is not shorter than the app's deadline ${deadline.label}: it uses the whole deadline, leaving nothing to drain connections and run the shutdown handlers`,
        `keep ${DRAIN_DELAY_ENV} well below ${GRACE_PERIOD_ENV}, e.g. ${DRAIN_DELAY_ENV}=5s with ${GRACE_PERIOD_ENV}=20s`,
        name,
      );
    }

    if (supervised && timeout && graceMs !== undefined && sleepMs + timeout.ms >= graceMs) {
      const room = graceMs - sleepMs;
      this.report(
        'supervisor-timeout',
        flag !== undefined ? [...path, 'command'] : envPath,
        `${sleepLabel}the supervisor timeout ${timeout.label} = ${formatMs(sleepMs + timeout.ms)} is at or above ${graceLabel}: the kubelet's SIGKILL comes first, so a stuck app is never stopped by the supervisor and its exit status (DEPUTY_TIMEOUT_EXIT_CODE) never shows`,
        room > 1000
          ? `set ${SUPERVISOR_TIMEOUT_ENV} below ${formatMs(room)} (e.g. ${formatMs(Math.max(1000, room - 5000))}), or raise terminationGracePeriodSeconds above ${Math.ceil((sleepMs + timeout.ms) / 1000)}`
          : `raise terminationGracePeriodSeconds above ${Math.ceil((sleepMs + timeout.ms) / 1000)}`,
        name,
      );
    }

    if (supervised && timeout && deadline && timeout.ms < deadline.ms) {
      this.report(
        'supervisor-before-app-deadline',
        envPath,
        `the supervisor timeout ${timeout.label} comes before the app's own deadline ${deadline.label}: a slow shutdown is SIGKILLed mid-way instead of the app ending it cleanly at its deadline`,
        `set ${GRACE_PERIOD_ENV} below the supervisor timeout, e.g. ${GRACE_PERIOD_ENV}=${formatMs(Math.max(1000, timeout.ms - 5000))} with ${SUPERVISOR_TIMEOUT_ENV}=${formatMs(timeout.ms)}`,
        name,
      );
    }

    const readiness = readProbe(container, 'readinessProbe');
    const liveness = readProbe(container, 'livenessProbe');
    const batch = BATCH_KINDS.has(this.kind);

    if (!batch && !readiness) {
      this.report(
        'missing-readiness-probe',
        path,
        'no readinessProbe: the pod gets traffic before it is ready, and nothing reports that it stopped being ready when shutdown begins',
        'add readinessProbe: { httpGet: { path: /readyz, port: 8081 }, periodSeconds: 2, failureThreshold: 2 } (or exec [deputy, probe, --ready])',
        name,
      );
    }
    if (!batch && !liveness) {
      this.report(
        'missing-liveness-probe',
        path,
        'no livenessProbe: a hung process is never restarted',
        'add livenessProbe: { httpGet: { path: /livez, port: 8081 }, periodSeconds: 10, failureThreshold: 3 } (or exec [deputy, probe, --live])',
        name,
      );
    }

    // An explicit drain delay of 0 says nothing routes traffic here (a worker): no race to check.
    if (!batch && readiness && drain && drain.ms > 0) {
      const noticeMs = readiness.periodSeconds * readiness.failureThreshold * 1000;
      if (noticeMs > drain.ms) {
        this.report(
          'readiness-slower-than-drain',
          [...path, 'readinessProbe'],
          `readiness takes up to periodSeconds ${readiness.periodSeconds} × failureThreshold ${readiness.failureThreshold} = ${formatMs(noticeMs)} to report the pod unready, longer than the drain delay ${drain.label}: load balancers that route by readiness still send requests after the app stops listening`,
          `lower periodSeconds × failureThreshold to ${formatMs(drain.ms)} or less (e.g. periodSeconds: 2, failureThreshold: 2), or raise ${DRAIN_DELAY_ENV} to ${formatMs(noticeMs)}`,
          name,
        );
      }
    }

    if (liveness) {
      const sameHttp = liveness.path !== undefined && (READINESS_PATHS.has(liveness.path) || liveness.path === readiness?.path);
      const livenessText = liveness.exec.join(' ');
      const sameExec =
        liveness.exec.length > 0 &&
        ((/\bprobe\b/.test(livenessText) && /(^|\s)--ready(\s|$)/.test(livenessText)) || (readiness !== undefined && livenessText === readiness.exec.join(' ')));
      if (sameHttp || sameExec) {
        this.report(
          'liveness-uses-readiness',
          [...path, 'livenessProbe'],
          `livenessProbe checks readiness (${sameHttp ? liveness.path! : livenessText}), which fails on purpose as soon as shutdown begins: during a long drain the kubelet restarts the container and records a failure`,
          sameHttp ? 'point livenessProbe at /livez (it stays 200 during shutdown)' : 'use exec [deputy, probe, --live] for liveness',
          name,
        );
      }
    }

    if (get(container, ['securityContext', 'readOnlyRootFilesystem']) === true) {
      const env = Array.isArray(container.env) ? container.env : [];
      const ipcEntry = env.find((entry) => isObject(entry) && entry.name === IPC_DIR_ENV) as Json | undefined;
      const known = ipcEntry === undefined || ipcEntry.value !== undefined;
      const ipcDir = ipcEntry?.value !== undefined && String(ipcEntry.value) !== '' ? String(ipcEntry.value).replace(/\/+$/, '') : DEFAULT_IPC_DIR;
      const mounts = Array.isArray(container.volumeMounts) ? container.volumeMounts.filter(isObject) : [];
      const writable = mounts.some((mount) => {
        if (mount.readOnly === true || typeof mount.mountPath !== 'string') return false;
        const at = mount.mountPath.replace(/\/+$/, '');
        return at === '' || ipcDir === at || ipcDir.startsWith(`${at}/`);
      });
      if (known && !writable) {
        this.report(
          'readonly-root-without-ipc-volume',
          [...path, 'securityContext', 'readOnlyRootFilesystem'],
          `readOnlyRootFilesystem is true but nothing writable is mounted at the IPC directory ${ipcDir}: the app cannot create its terminate socket and pid file`,
          `mount an emptyDir there: volumeMounts: [{ name: run, mountPath: ${ipcDir} }] and volumes: [{ name: run, emptyDir: { medium: Memory } }]`,
          name,
        );
      }
    }
  }
}

/**
 * Lints every workload (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, Pod, and
 * those inside a `List`) in a multi-document YAML text. Throws {@link ManifestError} when the text
 * is not YAML, holds something that is not a Kubernetes object, or holds no workload.
 */
export function lintManifest(text: string, file = '<input>'): LintResult {
  const lineCounter = new LineCounter();
  const parsed = parseAllDocuments(text, { lineCounter, uniqueKeys: false });
  const documents = Array.isArray(parsed) ? parsed : [];
  const findings: LintFinding[] = [];
  const workloads: LintObject[] = [];
  const skipped: LintObject[] = [];
  const seenKinds: string[] = [];
  const unknown: Array<LintObject & { line: number | undefined }> = [];

  documents.forEach((document, docIndex) => {
    const number = docIndex + 1;
    const error = document.errors[0];
    if (error) {
      const reason = error.message.split('\n', 1)[0]!.replace(/ at line \d+, column \d+:?$/, '');
      const at = error.linePos?.[0];
      throw new ManifestError(file, `not valid YAML${at ? ` (line ${at.line}, column ${at.col})` : ''}: ${reason}`);
    }
    let value: unknown;
    try {
      value = document.toJS({ maxAliasCount: 100 });
    } catch (cause) {
      throw new ManifestError(file, `document ${number} cannot be read: ${(cause as Error).message}`);
    }
    if (value === null || value === undefined) return; // an empty document (e.g. a trailing ---)

    const lineOf = (path: Path): number | undefined => {
      for (let length = path.length; length >= 0; length -= 1) {
        const node = document.getIn(path.slice(0, length), true) as { range?: [number, number, number] } | undefined;
        if (node && typeof node === 'object' && node.range) return lineCounter.linePos(node.range[0]).line;
      }
      return undefined;
    };

    const visit = (object: unknown, base: Path): void => {
      const where = base.length ? `document ${number}, ${pathText(base)}` : `document ${number}`;
      if (!isObject(object) || typeof object.kind !== 'string' || typeof object.apiVersion !== 'string') {
        const shown = isObject(object) ? 'a mapping without apiVersion and kind' : Array.isArray(object) ? 'a list' : `the ${typeof object} ${JSON.stringify(object).slice(0, 40)}`;
        throw new ManifestError(file, `${where} is not a Kubernetes object (it is ${shown}); expected a mapping with apiVersion and kind`);
      }
      const kind = object.kind;
      const name = String(get(object, ['metadata', 'name']) ?? get(object, ['metadata', 'generateName']) ?? '<unnamed>');
      seenKinds.push(kind);
      if (kind === 'List' || kind.endsWith('List')) {
        const items = object.items;
        if (!Array.isArray(items)) throw new ManifestError(file, `${where}: ${kind} has no items list`);
        items.forEach((item, i) => visit(item, [...base, 'items', i]));
        return;
      }
      const specPath = POD_SPEC_PATH[kind];
      if (!specPath) {
        skipped.push({ document: number, kind, name });
        if (!NON_WORKLOAD_KINDS.has(kind)) {
          unknown.push({ document: number, kind, name, line: lineOf([...base, 'kind']) });
        }
        return;
      }
      const fullPath = [...base, ...specPath];
      const spec = get(object, specPath);
      if (!isObject(spec)) throw new ManifestError(file, `${where} (${kind}/${name}): ${pathText(specPath)} is missing or not a mapping`);
      const containers = spec.containers;
      if (!Array.isArray(containers) || containers.length === 0 || !containers.every((c) => isObject(c) && typeof c.name === 'string')) {
        throw new ManifestError(file, `${where} (${kind}/${name}): ${pathText([...specPath, 'containers'])} must be a non-empty list of containers, each with a name`);
      }
      workloads.push({ document: number, kind, name });
      const linter = new WorkloadLinter(file, number, kind, name, lineOf);
      linter.lintPod(spec, fullPath);
      findings.push(...linter.findings);
    };
    visit(value, []);
  });

  if (workloads.length === 0) {
    const found = seenKinds.length ? `found only ${[...new Set(seenKinds)].join(', ')}` : 'it holds no Kubernetes objects';
    throw new ManifestError(file, `no workload to check (${found}); deputy lint reads ${Object.keys(POD_SPEC_PATH).join(', ')} and List`);
  }
  for (const object of unknown) {
    findings.push({
      rule: 'unknown-kind',
      severity: LINT_RULES['unknown-kind'].severity,
      message: `kind ${object.kind} is not one deputy lint knows, so it was not checked`,
      fix: `check the spelling; deputy lint checks ${Object.keys(POD_SPEC_PATH).join(', ')}`,
      file,
      document: object.document,
      kind: object.kind,
      name: object.name,
      path: 'kind',
      ...(object.line !== undefined ? { line: object.line } : {}),
    });
  }
  return { file, findings, workloads, skipped };
}

/** Counts of a set of results, for the summary line and the exit status. */
export function countFindings(results: readonly LintResult[]): { errors: number; warnings: number; workloads: number } {
  let errors = 0;
  let warnings = 0;
  let workloads = 0;
  for (const result of results) {
    workloads += result.workloads.length;
    for (const finding of result.findings) {
      if (finding.severity === 'error') errors += 1;
      else warnings += 1;
    }
  }
  return { errors, warnings, workloads };
}

/** Human-readable report: one line per finding, its fix indented below, then a summary line. */
export function formatText(results: readonly LintResult[]): string {
  const lines: string[] = [];
  for (const result of results) {
    for (const f of result.findings) {
      const where = `${f.file}${f.line !== undefined ? `:${f.line}` : ''}`;
      const subject = `${f.kind}/${f.name}${f.container !== undefined ? ` container ${f.container}` : ''}`;
      lines.push(`${where}: ${f.severity} ${f.rule}: ${subject}: ${f.message}`);
      lines.push(`  fix: ${f.fix}`);
    }
  }
  const { errors, warnings, workloads } = countFindings(results);
  const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
  lines.push(`${plural(errors, 'error')}, ${plural(warnings, 'warning')} in ${plural(workloads, 'workload')}`);
  return `${lines.join('\n')}\n`;
}
