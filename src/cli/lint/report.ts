/**
 * What `deputy lint` prints: for people, one line per finding with its fix below and a summary
 * line; for CI, one JSON document (`{ results, summary }`, described in docs/lint.md).
 */
import type { LintResult } from './types.js';

export interface LintSummary {
  readonly errors: number;
  readonly warnings: number;
  /** Workloads read (checked or not). */
  readonly workloads: number;
  /** Workloads with at least one checked container. */
  readonly checkedWorkloads: number;
  /** Containers and native sidecars checked. */
  readonly containers: number;
  /** Containers and native sidecars skipped: no sign of k8s-deputy. */
  readonly skippedContainers: number;
  /** Objects that are not workloads (Service, ConfigMap, …), and documents or files that are not manifests. */
  readonly skippedObjects: number;
  /** Files read. */
  readonly files: number;
  /** Files skipped whole: Helm (Go) templates met in a directory. */
  readonly skippedFiles: number;
}

/** Counts of a set of results, for the summary line and the exit status. */
export function countFindings(results: readonly LintResult[]): LintSummary {
  let errors = 0;
  let warnings = 0;
  let workloads = 0;
  let containers = 0;
  let skippedContainers = 0;
  let skippedObjects = 0;
  let skippedFiles = 0;
  const checkedWorkloads = new Set<string>();
  for (const result of results) {
    workloads += result.workloads.length;
    skippedObjects += result.skipped.length + result.ignoredDocuments;
    if (result.ignored !== undefined) skippedFiles += 1;
    for (const c of result.containers) {
      if (!c.checked) {
        skippedContainers += 1;
        continue;
      }
      containers += 1;
      checkedWorkloads.add(`${result.file}\0${c.document}\0${c.kind}\0${c.name}`);
    }
    for (const finding of result.findings) {
      if (finding.severity === 'error') errors += 1;
      else warnings += 1;
    }
  }
  return { errors, warnings, workloads, checkedWorkloads: checkedWorkloads.size, containers, skippedContainers, skippedObjects, files: results.length, skippedFiles };
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** `1 error, 0 warnings: checked 2 containers in 2 workloads; skipped 11 containers with no sign of k8s-deputy and 9 other objects` */
export function summaryLine(summary: LintSummary): string {
  let line = `${plural(summary.errors, 'error')}, ${plural(summary.warnings, 'warning')}: checked ${plural(summary.containers, 'container')} in ${plural(summary.checkedWorkloads, 'workload')}`;
  const skipped: string[] = [];
  if (summary.skippedContainers > 0) skipped.push(`${plural(summary.skippedContainers, 'container')} with no sign of k8s-deputy (--all checks them)`);
  if (summary.skippedObjects > 0) skipped.push(`${summary.skippedObjects} other object${summary.skippedObjects === 1 ? '' : 's'}`);
  if (summary.skippedFiles > 0) skipped.push(`${plural(summary.skippedFiles, 'template file')}`);
  if (skipped.length > 0) line += `; skipped ${skipped.slice(0, -1).join(', ')}${skipped.length > 1 ? ' and ' : ''}${skipped.at(-1)!}`;
  return line;
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
  lines.push(summaryLine(countFindings(results)));
  return `${lines.join('\n')}\n`;
}

/** The `--format json` document. */
export function formatJson(results: readonly LintResult[]): string {
  return `${JSON.stringify({ results, summary: countFindings(results) }, null, 2)}\n`;
}
