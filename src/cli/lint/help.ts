/**
 * The words around `deputy lint`: its --help text and the rule table of docs/lint.md, both built
 * from the rule table and the product's defaults (src/contract/settings.ts), so they cannot drift
 * from what the code checks. main.ts loads it only when the lint command runs.
 */
import { KUBERNETES_DEFAULTS, KUBERNETES_DRAIN_DELAY_MS, SETTINGS } from '../../contract/settings.js';
import { RULES } from './rules/index.js';
import { formatMs } from './types.js';

/** What deputy lint assumes for a value the manifest leaves unset. */
export function assumedDefaults(): string {
  const probe = KUBERNETES_DEFAULTS.probe;
  return (
    `terminationGracePeriodSeconds ${KUBERNETES_DEFAULTS.terminationGracePeriodSeconds}, ` +
    `${SETTINGS.drainDelay.env} ${formatMs(KUBERNETES_DRAIN_DELAY_MS)}, ${SETTINGS.gracePeriod.env} ${SETTINGS.gracePeriod.defaultText}, ` +
    `${SETTINGS.timeout.env} ${SETTINGS.timeout.defaultText}, probe periodSeconds ${probe.periodSeconds} and failureThreshold ${probe.failureThreshold}`
  );
}

/** The text after the options in `deputy lint --help`. */
export function lintHelpText(): string {
  const width = Math.max(...RULES.map((rule) => rule.id.length)) + 1;
  const rules = RULES.map((rule) => `  ${rule.id.padEnd(width)}${rule.severity === 'warning' ? '(warning) ' : ''}${rule.summary}`);
  return `
Only containers that show k8s-deputy are checked: a DEPUTY_* variable, a deputy preStop hook,
command, args or exec probe, or shim/supervise.sh (--all checks every container). Native sidecars
(initContainers with restartPolicy: Always) are checked like containers. Objects without pods
(Service, ConfigMap, Ingress, CRDs, ...) are skipped; in directories, YAML that is not
Kubernetes and Helm templates are skipped too.

Rules (error unless marked warning):
${rules.join('\n')}

Defaults assumed when unset: ${assumedDefaults()}.

Exit status: 0 no errors (warnings allowed unless --strict); 1 errors found;
2 usage errors or input that cannot be read or parsed (one line on stderr).
Every rule with its message and fix: docs/lint.md.`;
}

const cell = (text: string): string => text.replaceAll('|', '\\|');

/** The rule table of docs/lint.md (test/lint-docs.test.ts holds the page to it). */
export function ruleTableMarkdown(): string {
  const rows = RULES.map((rule) => `| \`${rule.id}\` | ${rule.severity} | ${cell(rule.summary)} | ${cell(rule.problem)} | ${cell(rule.fix)} |`);
  return ['| rule | severity | checks | when it fails | fix |', '|---|---|---|---|---|', ...rows].join('\n');
}
