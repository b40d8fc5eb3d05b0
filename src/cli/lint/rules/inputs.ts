/**
 * Rules about the input itself: values that cannot be read, workload-like objects of a kind
 * deputy lint does not know, and a run in which nothing showed k8s-deputy (so nothing was checked).
 */
import { SETTINGS } from '../../../contract/settings.js';
import { POD_SPEC_PATHS } from '../kinds.js';
import type { Rule } from './rule.js';

const KINDS = Object.keys(POD_SPEC_PATHS).join(', ');

export const noDeputyContainer: Rule = {
  id: 'no-deputy-container',
  severity: 'warning',
  on: 'run',
  summary: 'some container in the input shows k8s-deputy; otherwise nothing was checked',
  problem: 'no container has a DEPUTY_* variable, a deputy preStop hook, command, args or exec probe, or the shim: a forgotten marker or the wrong files',
  fix: `set a DEPUTY_* variable (e.g. ${SETTINGS.gracePeriod.env}) or the preStop hook [deputy, terminate] on the containers that run k8s-deputy, or pass --all`,
  check(run, report) {
    if (run.checkedContainers > 0 || !run.firstWorkload) return;
    report(run.firstWorkload, {
      message: `${run.containers === 1 ? 'the one container' : `none of the ${run.containers} containers`} in ${run.workloads === 1 ? 'the one workload' : `${run.workloads} workloads`} ${run.containers === 1 ? 'does not show' : 'shows'} k8s-deputy (no DEPUTY_* variable, deputy preStop hook, command, args or exec probe, no shim), so nothing was checked`,
      fix: `set a DEPUTY_* variable (e.g. ${SETTINGS.gracePeriod.env}) or the preStop hook [deputy, terminate] on the container that runs the app, or run deputy lint --all to check every container`,
    });
  },
};

export const unknownKind: Rule = {
  id: 'unknown-kind',
  severity: 'warning',
  on: 'object',
  summary: 'an object of a kind deputy lint does not know, with containers that show k8s-deputy, was not checked (a typo, or a custom resource)',
  problem: 'its containers were not checked',
  fix: `check the spelling; deputy lint checks ${KINDS}`,
  check(object, report) {
    if (object.role !== 'unknown-workload' || !object.checked) return;
    report({
      path: ['kind'],
      message: `kind ${object.kind} is not one deputy lint knows, so it was not checked, although it has containers`,
      fix: `check the spelling; deputy lint checks ${KINDS}`,
    });
  },
};

export const invalidValue: Rule = {
  id: 'invalid-value',
  severity: 'error',
  on: 'pod',
  summary: 'a duration, number or signal in the manifest cannot be read',
  problem: 'the API server rejects the pod, or the app or supervisor cannot start',
  fix: 'write durations as 5s, 500ms or 1m; whole seconds where Kubernetes wants seconds; signals as SIGQUIT',
  check(pod, report) {
    for (const problem of pod.problems) report(problem);
    for (const c of pod.checked) for (const problem of c.problems) report({ ...problem, container: c.name });
  },
};
