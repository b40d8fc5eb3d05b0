/**
 * What `deputy lint` reports, and the small helpers every part of it uses to walk a manifest's
 * plain JSON (YAML documents after `toJS()`).
 */
import { DeputyError } from '../../contract/errors.js';

export type Severity = 'error' | 'warning';
export type Path = ReadonlyArray<string | number>;
export type Json = Record<string, unknown>;

/** One mistake found, with where it is and how to fix it. */
export interface LintFinding {
  /** A rule id from the rule table (src/cli/lint/rules/index.ts). */
  readonly rule: string;
  readonly severity: Severity;
  readonly message: string;
  readonly fix: string;
  /** Source name given to the linter (a file name, or `-` for stdin). */
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

/** A workload that was read, or an object that was skipped. */
export interface LintObject {
  readonly document: number;
  readonly kind: string;
  readonly name: string;
}

/** A container (or native sidecar) of a workload, and whether it was checked. */
export interface LintContainer extends LintObject {
  readonly container: string;
  /** An `initContainers` entry with `restartPolicy: Always` (KEP-753). */
  readonly sidecar: boolean;
  /** False: it shows no sign of k8s-deputy (and `--all` was not given). */
  readonly checked: boolean;
}

export interface LintResult {
  readonly file: string;
  readonly findings: readonly LintFinding[];
  readonly workloads: readonly LintObject[];
  /** Objects that are not workloads (Service, ConfigMap, …): nothing to check in them. */
  readonly skipped: readonly LintObject[];
  /** Every container and native sidecar of the workloads, checked or not. */
  readonly containers: readonly LintContainer[];
  /** Documents skipped because they are not Kubernetes objects (only when read from a directory). */
  readonly ignoredDocuments: number;
  /** Set when the whole file was skipped (a Helm template met while reading a directory). */
  readonly ignored?: string;
}

export interface LintOptions {
  /** Check every container as if it ran k8s-deputy. */
  readonly all?: boolean;
  /**
   * The file was found by walking a directory: YAML that is not Kubernetes (Chart.yaml,
   * values.yaml) and Go templates are skipped instead of rejected.
   */
  readonly lenient?: boolean;
}

/** A value in the manifest that cannot be read (rule invalid-value). */
export interface Problem {
  readonly path: Path;
  readonly message: string;
  readonly fix: string;
}

/** The input cannot be linted at all: not YAML, not Kubernetes, a workload without pods. Exit 2. */
export class ManifestError extends DeputyError {
  readonly file: string;
  constructor(file: string, problem: string) {
    super('EDEPUTY_MANIFEST', `${file}: ${problem}`);
    this.file = file;
  }
}

export function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The value at `path`, or undefined when any step is missing or of the wrong type. */
export function get(value: unknown, path: Path): unknown {
  let here = value;
  for (const key of path) {
    if (typeof key === 'number' ? !Array.isArray(here) : !isObject(here)) return undefined;
    here = (here as Record<string | number, unknown>)[key];
  }
  return here;
}

/** `spec.containers[0].env` */
export function pathText(path: Path): string {
  return path.map((key, i) => (typeof key === 'number' ? `[${key}]` : i === 0 ? key : `.${key}`)).join('');
}

/** An argv-like list as strings; anything else is empty. */
export function words(value: unknown): string[] {
  return Array.isArray(value) ? value.map((item) => String(item)) : [];
}

/** Milliseconds as people write them in manifests: 5s, 2.5s, 250ms. */
export function formatMs(ms: number): string {
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  if (ms >= 1000) return `${Number((ms / 1000).toFixed(3))}s`;
  return `${ms}ms`;
}

/** Whole seconds at or above `ms`, as terminationGracePeriodSeconds needs them. */
export function ceilSeconds(ms: number): number {
  return Math.ceil(ms / 1000);
}
