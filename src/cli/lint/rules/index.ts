/**
 * The rule table: every rule deputy lint has, in the order findings are listed. The engine,
 * `deputy lint --help`, docs/lint.md and the JSON output's rule ids all come from here.
 */
import { invalidValue, noDeputyContainer, unknownKind } from './inputs.js';
import { livenessUsesReadiness, missingLivenessProbe, missingReadinessProbe, probeGracePeriod, readinessSlowerThanDrain } from './probes.js';
import type { Rule } from './rule.js';
import { legacySidecar, sidecarBudget, sidecarPreStopTerminate } from './sidecars.js';
import { stopSignalOs, stopSignalUnhandled } from './signals.js';
import { drainDelayBudget, gracePeriodBudget, supervisorBeforeAppDeadline, supervisorTimeout } from './timing.js';
import { commandOverridesEntrypoint, readonlyRootWithoutIpcVolume, sharedIpcVolume } from './wiring.js';

export type { Rule } from './rule.js';

export const RULES: readonly Rule[] = [
  gracePeriodBudget,
  drainDelayBudget,
  supervisorTimeout,
  supervisorBeforeAppDeadline,
  readinessSlowerThanDrain,
  livenessUsesReadiness,
  commandOverridesEntrypoint,
  readonlyRootWithoutIpcVolume,
  missingReadinessProbe,
  missingLivenessProbe,
  noDeputyContainer,
  unknownKind,
  invalidValue,
  probeGracePeriod,
  legacySidecar,
  sidecarBudget,
  sidecarPreStopTerminate,
  sharedIpcVolume,
  stopSignalOs,
  stopSignalUnhandled,
];

/** id → severity and summary, for callers that look rules up by id. */
export const LINT_RULES: Readonly<Record<string, { readonly severity: Rule['severity']; readonly summary: string }>> = Object.freeze(
  Object.fromEntries(RULES.map((rule) => [rule.id, Object.freeze({ severity: rule.severity, summary: rule.summary })])),
);
