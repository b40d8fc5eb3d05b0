/**
 * `deputy lint`: reads Kubernetes manifests and reports the timing and wiring mistakes that make a
 * graceful termination fail — each with its fix. The parts:
 * - manifest.ts: YAML documents → objects; workload kinds (kinds.ts) → pod specs;
 * - pod.ts, container.ts: a pod spec → the numbers and wiring the rules read, with the product's
 *   own defaults (src/contract/settings.ts);
 * - rules/: one check per rule id, in one table (rules/index.ts);
 * - engine.ts: runs the table; report.ts: text and JSON; run.ts: reads paths and prints;
 *   command.ts: the `deputy lint` front-end; help.ts: its --help words and docs/lint.md's table.
 */
export { lintInputs, lintManifest, type LintInput } from './engine.js';
export { LINT_RULES, RULES, type Rule } from './rules/index.js';
export { countFindings, formatJson, formatText, summaryLine, type LintSummary } from './report.js';
export { readInputs, runLint, type LintCommandOptions } from './run.js';
export { ManifestError, formatMs } from './types.js';
export type { LintContainer, LintFinding, LintObject, LintOptions, LintResult, Severity } from './types.js';
