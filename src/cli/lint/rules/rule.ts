/**
 * The shape of a rule: its id, severity and words (for help, docs and findings), and one check
 * function that looks at one thing — a container, a pod, an object or the whole run — and
 * reports what is wrong through `report`, with the numbers of that manifest in the message.
 */
import type { ManifestObject } from '../manifest.js';
import type { ContainerContext, PodContext } from '../pod.js';
import type { LintObject, Path, Severity } from '../types.js';

export interface Report {
  (finding: { readonly path: Path; readonly message: string; readonly fix: string; readonly container?: string }): void;
}

/** An object that is not a workload deputy lint reads; `checked` as for containers (k8s-deputy shown, or --all). */
export interface ObjectContext extends ManifestObject {
  readonly checked: boolean;
}

/** A place outside any pod for run-level findings. */
export interface RunReport {
  (at: LintObject & { readonly file: string; readonly path: Path; readonly line?: number }, finding: { readonly message: string; readonly fix: string }): void;
}

/** What a run saw, for rules about the whole input. */
export interface RunContext {
  readonly workloads: number;
  readonly containers: number;
  readonly checkedContainers: number;
  /** The first workload read, where a run-level finding is shown. */
  readonly firstWorkload?: LintObject & { readonly file: string; readonly path: Path; readonly line?: number };
}

interface RuleText {
  readonly id: string;
  readonly severity: Severity;
  /** What it checks, in one line (help and docs). */
  readonly summary: string;
  /** What goes wrong when it fails: the gist of its message (docs). */
  readonly problem: string;
  /** The usual fix (docs); each finding carries a fix with the manifest's own numbers. */
  readonly fix: string;
}

export type Rule = RuleText &
  (
    | { readonly on: 'container'; check(container: ContainerContext, report: Report): void }
    | { readonly on: 'pod'; check(pod: PodContext, report: Report): void }
    | { readonly on: 'object'; check(object: ObjectContext, report: Report): void }
    | { readonly on: 'run'; check(run: RunContext, report: RunReport): void }
  );
