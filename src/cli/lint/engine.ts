/**
 * Runs the rule table over manifests. Sequence per input: read it (manifest.ts), then for each
 * workload read its pod (pod.ts) and — when any container is checked — run the pod rules and then,
 * for each checked container, the container rules, in table order; objects that only look like
 * workloads go through the object rules. After the last input, the run rules look at the whole.
 * Pure: text in, findings out; the CLI reads files and prints (run.ts).
 */
import { readManifest } from './manifest.js';
import { readPod } from './pod.js';
import { RULES } from './rules/index.js';
import type { RunContext } from './rules/rule.js';
import { pathText, type LintContainer, type LintFinding, type LintObject, type LintOptions, type LintResult, type Path } from './types.js';

export interface LintInput {
  readonly file: string;
  readonly text: string;
  /** Found by walking a directory: non-Kubernetes YAML and templates are skipped, not rejected. */
  readonly lenient?: boolean;
}

type Place = LintObject & { readonly file: string; readonly lineOf: (path: Path) => number | undefined };

function finding(rule: (typeof RULES)[number], at: Place, path: Path, message: string, fix: string, container?: string, line = at.lineOf(path)): LintFinding {
  return {
    rule: rule.id,
    severity: rule.severity,
    message,
    fix,
    file: at.file,
    document: at.document,
    kind: at.kind,
    name: at.name,
    ...(container !== undefined ? { container } : {}),
    path: pathText(path),
    ...(line !== undefined ? { line } : {}),
  };
}

interface RunState {
  workloads: number;
  containers: number;
  checkedContainers: number;
  firstWorkload?: RunContext['firstWorkload'];
}

function lintInput(input: LintInput, options: LintOptions, run: RunState): LintResult {
  const { file } = input;
  const manifest = readManifest(input.text, file, input.lenient === true || options.lenient === true);
  const findings: LintFinding[] = [];
  const late: LintFinding[] = []; // object findings come after the workloads' ones
  const workloads: LintObject[] = [];
  const skipped: LintObject[] = [];
  const containers: LintContainer[] = [];

  for (const object of manifest.objects) {
    const place: Place = { file, document: object.document, kind: object.kind, name: object.name, lineOf: object.lineOf };
    const who = { document: object.document, kind: object.kind, name: object.name };
    if (object.role !== 'workload') {
      skipped.push(who);
      const at: Place = { ...place, lineOf: (path) => object.lineOf([...object.base, ...path]) };
      for (const rule of RULES) {
        if (rule.on === 'object') rule.check({ ...object, checked: options.all === true || object.showsDeputy === true }, (f) => late.push(finding(rule, at, f.path, f.message, f.fix, f.container)));
      }
      continue;
    }
    workloads.push(who);
    const pod = readPod(object, file, options);
    run.workloads += 1;
    run.containers += pod.all.length;
    run.checkedContainers += pod.checked.length;
    const containersPath = [...pod.specPath, 'containers'];
    run.firstWorkload ??= { file, ...who, path: containersPath, ...lineField(object.lineOf(containersPath)) };
    for (const c of pod.all) containers.push({ ...who, container: c.name, sidecar: c.sidecar, checked: c.checked });
    if (pod.checked.length === 0) continue;

    for (const rule of RULES) {
      if (rule.on === 'pod') rule.check(pod, (f) => findings.push(finding(rule, place, f.path, f.message, f.fix, f.container)));
    }
    for (const c of pod.checked) {
      for (const rule of RULES) {
        if (rule.on === 'container') rule.check(c, (f) => findings.push(finding(rule, place, f.path, f.message, f.fix, f.container ?? c.name)));
      }
    }
  }
  findings.push(...late);
  return {
    file,
    findings,
    workloads,
    skipped,
    containers,
    ignoredDocuments: manifest.ignoredDocuments,
    ...(manifest.ignored !== undefined ? { ignored: manifest.ignored } : {}),
  };
}

function lineField(line: number | undefined): { line?: number } {
  return line === undefined ? {} : { line };
}

/**
 * Lints several inputs as one run: findings per input, plus the run rules' (e.g. nothing showed
 * k8s-deputy anywhere), added to the input they point at. Throws ManifestError for input that
 * cannot be parsed.
 */
export function lintInputs(inputs: readonly LintInput[], options: LintOptions = {}): LintResult[] {
  const run: RunState = { workloads: 0, containers: 0, checkedContainers: 0 };
  const results = inputs.map((input) => lintInput(input, options, run));
  for (const rule of RULES) {
    if (rule.on !== 'run') continue;
    rule.check(run, (at, f) => {
      const result = results.find((r) => r.file === at.file);
      const { path, line, ...where } = at;
      (result?.findings as LintFinding[] | undefined)?.push(finding(rule, { ...where, lineOf: () => line }, path, f.message, f.fix));
    });
  }
  return results;
}

/**
 * Lints every workload (Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController,
 * Job, CronJob, Pod, Argo Rollout, and those inside a `List`) in a multi-document YAML text, as a
 * run of its own. Throws {@link ManifestError} when the text is not YAML or not Kubernetes.
 */
export function lintManifest(text: string, file = '<input>', options: LintOptions = {}): LintResult {
  return lintInputs([{ file, text }], options)[0]!;
}
