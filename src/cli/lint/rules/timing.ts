/**
 * The termination timeline of one container: a safe configuration orders
 * D (drain delay) < G (app deadline) ≤ K (supervisor timeout) and S (preStop sleep) + K < T
 * (terminationGracePeriodSeconds), with S + G ≤ T. Native sidecars start their stop only after
 * the main containers, so their budget is sidecar-budget's (sidecars.ts).
 */
import { SETTINGS } from '../../../contract/settings.js';
import { sleepPrefix } from '../pod.js';
import { ceilSeconds, formatMs } from '../types.js';
import type { Rule } from './rule.js';

const GRACE = SETTINGS.gracePeriod.env;
const DRAIN = SETTINGS.drainDelay.env;
const TIMEOUT = SETTINGS.timeout.env;

export const gracePeriodBudget: Rule = {
  id: 'grace-period-budget',
  severity: 'error',
  on: 'container',
  summary: `preStop sleep + the app's deadline (${GRACE}) must fit in terminationGracePeriodSeconds`,
  problem: 'the kubelet SIGKILLs the app before it finishes its shutdown or gives up by itself',
  fix: `lower ${GRACE} (or the preStop sleep), or raise terminationGracePeriodSeconds`,
  check(c, report) {
    const { graceMs, graceLabel, gracePath } = c.pod;
    const sleepMs = c.preStop.sleepMs;
    if (c.sidecar || graceMs === undefined || !c.deadline) return;
    if (sleepMs >= graceMs) {
      report({
        path: [...c.path, 'lifecycle', 'preStop'],
        message: `the preStop sleep ${formatMs(sleepMs)} uses all of ${graceLabel}: the app gets SIGTERM no earlier than the kubelet's SIGKILL`,
        fix: `shorten the sleep (${DRAIN} already keeps serving while endpoints are removed; [deputy, terminate] is the better hook) or raise terminationGracePeriodSeconds`,
      });
    } else if (sleepMs + c.deadline.ms > graceMs) {
      report({
        path: gracePath,
        message: `${sleepPrefix(c)}the app's deadline for drain delay, drain and shutdown handlers, ${c.deadline.label}, = ${formatMs(sleepMs + c.deadline.ms)} exceeds ${graceLabel}: the kubelet SIGKILLs the app before it finishes or gives up by itself`,
        fix: `set ${GRACE} to ${formatMs(graceMs - sleepMs)} or less, or terminationGracePeriodSeconds to ${ceilSeconds(sleepMs + c.deadline.ms)} or more`,
      });
    }
  },
};

export const drainDelayBudget: Rule = {
  id: 'drain-delay-budget',
  severity: 'error',
  on: 'container',
  summary: `the drain delay (${DRAIN}) must be shorter than the app's deadline, leaving time to drain and run handlers`,
  problem: 'the delay uses the whole deadline: nothing is left to drain connections and run the shutdown handlers',
  fix: `keep ${DRAIN} well below ${GRACE}, e.g. 5s with 20s`,
  check(c, report) {
    if (!c.drain || !c.deadline || c.drain.ms < c.deadline.ms) return;
    report({
      path: c.envPath,
      message: `the drain delay ${c.drain.label} is not shorter than the app's deadline ${c.deadline.label}: it uses the whole deadline, leaving nothing to drain connections and run the shutdown handlers`,
      fix: `keep ${DRAIN} well below ${GRACE}, e.g. ${DRAIN}=5s with ${GRACE}=20s`,
    });
  },
};

export const supervisorTimeout: Rule = {
  id: 'supervisor-timeout',
  severity: 'error',
  on: 'container',
  summary: `preStop sleep + the supervisor timeout (${TIMEOUT} or --timeout) must end before terminationGracePeriodSeconds`,
  problem: "the kubelet's SIGKILL comes first, so a stuck app is never stopped by the supervisor and its timeout exit status never shows",
  fix: `lower ${TIMEOUT} below terminationGracePeriodSeconds minus the preStop sleep, or raise terminationGracePeriodSeconds`,
  check(c, report) {
    const { graceMs, graceLabel } = c.pod;
    const sleepMs = c.preStop.sleepMs;
    if (c.sidecar || c.entrypoint === 'command' || !c.timeout || graceMs === undefined || sleepMs + c.timeout.ms < graceMs) return;
    const room = graceMs - sleepMs;
    report({
      path: c.timeoutFromFlag ? [...c.path, 'command'] : c.envPath,
      message: `${sleepPrefix(c)}the supervisor timeout ${c.timeout.label} = ${formatMs(sleepMs + c.timeout.ms)} is at or above ${graceLabel}: the kubelet's SIGKILL comes first, so a stuck app is never stopped by the supervisor and its exit status (${SETTINGS.timeoutExitCode.env}) never shows`,
      fix:
        room > 1000
          ? `set ${TIMEOUT} below ${formatMs(room)} (e.g. ${formatMs(Math.max(1000, room - 5000))}), or raise terminationGracePeriodSeconds above ${ceilSeconds(sleepMs + c.timeout.ms)}`
          : `raise terminationGracePeriodSeconds above ${ceilSeconds(sleepMs + c.timeout.ms)}`,
    });
  },
};

export const supervisorBeforeAppDeadline: Rule = {
  id: 'supervisor-before-app-deadline',
  severity: 'warning',
  on: 'container',
  summary: "the supervisor timeout should not cut the app off before its own deadline",
  problem: 'a slow shutdown is SIGKILLed mid-way instead of the app ending it cleanly at its deadline',
  fix: `set ${GRACE} a few seconds below the supervisor timeout`,
  check(c, report) {
    if (c.entrypoint === 'command' || !c.timeout || !c.deadline || c.timeout.ms >= c.deadline.ms) return;
    report({
      path: c.envPath,
      message: `the supervisor timeout ${c.timeout.label} comes before the app's own deadline ${c.deadline.label}: a slow shutdown is SIGKILLed mid-way instead of the app ending it cleanly at its deadline`,
      fix: `set ${GRACE} below the supervisor timeout, e.g. ${GRACE}=${formatMs(Math.max(1000, c.timeout.ms - 5000))} with ${TIMEOUT}=${formatMs(c.timeout.ms)}`,
    });
  },
};
