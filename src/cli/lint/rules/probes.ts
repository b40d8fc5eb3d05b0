/**
 * Probes around a shutdown: readiness must fail soon after shutdown begins (before the drain
 * delay ends), liveness must stay green through it, and a probe that kills the container must
 * leave the app its deadline. httpGet, exec, tcpSocket and grpc probes all count.
 */
import { KUBERNETES_DEFAULTS, SETTINGS } from '../../../contract/settings.js';
import { sleepPrefix } from '../pod.js';
import { ceilSeconds, formatMs } from '../types.js';
import type { Rule } from './rule.js';

const DRAIN = SETTINGS.drainDelay.env;
const GRACE = SETTINGS.gracePeriod.env;
/** Readiness paths of the Deputy health server; liveness must not point at them. */
const READINESS_PATHS = new Set(['/readyz', '/health/ready']);

export const readinessSlowerThanDrain: Rule = {
  id: 'readiness-slower-than-drain',
  severity: 'warning',
  on: 'container',
  summary: `readiness periodSeconds × failureThreshold should not exceed the drain delay (${DRAIN})`,
  problem: 'load balancers that route by readiness still send requests after the app stops listening',
  fix: `lower periodSeconds × failureThreshold (e.g. 2 × 2), or raise ${DRAIN}`,
  check(c, report) {
    // An explicit drain delay of 0 says nothing routes traffic here (a worker): no race to check.
    if (c.pod.batch || !c.readiness || !c.drain || c.drain.ms === 0) return;
    const noticeMs = c.readiness.periodSeconds * c.readiness.failureThreshold * 1000;
    if (noticeMs <= c.drain.ms) return;
    report({
      path: [...c.path, 'readinessProbe'],
      message: `readiness takes up to periodSeconds ${c.readiness.periodSeconds} × failureThreshold ${c.readiness.failureThreshold} = ${formatMs(noticeMs)} to report the pod unready, longer than the drain delay ${c.drain.label}: load balancers that route by readiness still send requests after the app stops listening`,
      fix: `lower periodSeconds × failureThreshold to ${formatMs(c.drain.ms)} or less (e.g. periodSeconds: 2, failureThreshold: 2), or raise ${DRAIN} to ${formatMs(noticeMs)}`,
    });
  },
};

export const livenessUsesReadiness: Rule = {
  id: 'liveness-uses-readiness',
  severity: 'error',
  on: 'container',
  summary: 'liveness must not probe the readiness endpoint (it fails during shutdown)',
  problem: 'during a long drain the kubelet restarts the container and records a failure',
  fix: 'point liveness at /livez, or use exec [deputy, probe, --live]',
  check(c, report) {
    const { liveness, readiness } = c;
    if (!liveness) return;
    const sameHttp = liveness.httpPath !== undefined && (READINESS_PATHS.has(liveness.httpPath) || liveness.httpPath === readiness?.httpPath);
    const livenessText = liveness.exec.join(' ');
    const sameExec =
      liveness.exec.length > 0 &&
      ((/\bprobe\b/.test(livenessText) && /(^|\s)--ready(\s|$)/.test(livenessText)) || (readiness !== undefined && livenessText === readiness.exec.join(' ')));
    const sameGrpc = liveness.grpc !== undefined && liveness.grpc === readiness?.grpc;
    if (!sameHttp && !sameExec && !sameGrpc) return;
    const shown = sameHttp ? liveness.httpPath! : sameExec ? livenessText : `grpc ${liveness.grpc!}`;
    report({
      path: [...c.path, 'livenessProbe'],
      message: `livenessProbe checks readiness (${shown}), which fails on purpose as soon as shutdown begins: during a long drain the kubelet restarts the container and records a failure`,
      fix: sameHttp
        ? 'point livenessProbe at /livez (it stays 200 during shutdown)'
        : sameExec
          ? 'use exec [deputy, probe, --live] for liveness'
          : 'give liveness its own gRPC health service name (one that stays SERVING during shutdown), or use exec [deputy, probe, --live]',
    });
  },
};

export const missingReadinessProbe: Rule = {
  id: 'missing-readiness-probe',
  severity: 'error',
  on: 'container',
  summary: 'a serving container needs a readiness probe',
  problem: 'the pod gets traffic before it is ready, and nothing reports that it stopped being ready when shutdown begins',
  fix: 'add readinessProbe on /readyz (or exec [deputy, probe, --ready])',
  check(c, report) {
    if (c.pod.batch || c.readiness) return;
    report({
      path: c.path,
      message: 'no readinessProbe: the pod gets traffic before it is ready, and nothing reports that it stopped being ready when shutdown begins',
      fix: `add readinessProbe: { httpGet: { path: /readyz, port: ${SETTINGS.healthCheckPort.defaultValue} }, periodSeconds: 2, failureThreshold: 2 } (or exec [deputy, probe, --ready])`,
    });
  },
};

export const missingLivenessProbe: Rule = {
  id: 'missing-liveness-probe',
  severity: 'warning',
  on: 'container',
  summary: 'a serving container should have a liveness probe',
  problem: 'a hung process is never restarted',
  fix: 'add livenessProbe on /livez (or exec [deputy, probe, --live])',
  check(c, report) {
    if (c.pod.batch || c.liveness) return;
    const { periodSeconds, failureThreshold } = KUBERNETES_DEFAULTS.probe;
    report({
      path: c.path,
      message: 'no livenessProbe: a hung process is never restarted',
      fix: `add livenessProbe: { httpGet: { path: /livez, port: ${SETTINGS.healthCheckPort.defaultValue} }, periodSeconds: ${periodSeconds}, failureThreshold: ${failureThreshold} } (or exec [deputy, probe, --live])`,
    });
  },
};

export const probeGracePeriod: Rule = {
  id: 'probe-grace-period',
  severity: 'warning',
  on: 'container',
  summary: `a liveness or startup probe's own terminationGracePeriodSeconds must leave the app its deadline (${GRACE})`,
  problem: "a restart the probe triggers uses that grace period instead of the pod's, and SIGKILLs the app mid-drain",
  fix: `raise the probe's terminationGracePeriodSeconds to preStop sleep + ${GRACE} or more, or remove it`,
  check(c, report) {
    if (!c.deadline) return;
    const needMs = c.preStop.sleepMs + c.deadline.ms;
    for (const probe of [c.liveness, c.startup]) {
      if (probe?.graceSeconds === undefined || probe.graceSeconds * 1000 >= needMs) continue;
      report({
        path: [...c.path, probe.field, 'terminationGracePeriodSeconds'],
        message: `${probe.field}.terminationGracePeriodSeconds ${probe.graceSeconds} is shorter than ${sleepPrefix(c)}the app's deadline ${c.deadline.label}${c.preStop.sleepMs > 0 ? ` = ${formatMs(needMs)}` : ''}: when this probe fails, the kubelet stops the container with that grace period instead of the pod's and SIGKILLs the app mid-drain`,
        fix: `raise it to ${ceilSeconds(needMs)} or more, remove it (the pod's terminationGracePeriodSeconds applies), or lower ${GRACE} to ${formatMs(Math.max(0, probe.graceSeconds * 1000 - c.preStop.sleepMs))}`,
      });
    }
  },
};
