/**
 * The stop signal (KEP-4960, `lifecycle.stopSignal`, alpha since Kubernetes 1.33 behind the
 * ContainerStopSignals gate): the kubelet sends it instead of SIGTERM (and of the image's
 * STOPSIGNAL). The API requires `spec.os.name` with it, and a graceful shutdown requires the
 * container's entrypoint to treat it as "terminate" — deputy supervise does so for SIGTERM,
 * SIGINT and the signals of --stop-signal / DEPUTY_STOP_SIGNALS, and only passes others on.
 */
import { SETTINGS } from '../../../contract/settings.js';
import type { Rule } from './rule.js';

/** Windows accepts only these two (KEP-4960). */
const WINDOWS_SIGNALS = new Set(['SIGTERM', 'SIGKILL']);

export const stopSignalOs: Rule = {
  id: 'stop-signal-os',
  severity: 'error',
  on: 'container',
  summary: 'lifecycle.stopSignal needs spec.os.name in the pod spec (and only SIGTERM or SIGKILL on Windows)',
  problem: 'the API server rejects the pod',
  fix: 'set spec.os.name: linux in the pod template',
  check(c, report) {
    if (!c.stopSignal) return;
    const { osName } = c.pod;
    if (osName === undefined) {
      report({
        path: [...c.path, 'lifecycle', 'stopSignal'],
        message: `lifecycle.stopSignal ${c.stopSignal.text} is set but the pod spec has no os.name: the API server rejects the pod (a stop signal is validated against the pod's operating system)`,
        fix: 'set os: { name: linux } in the pod spec (the field also needs the ContainerStopSignals feature gate, alpha since Kubernetes 1.33, on the API server and the kubelets)',
      });
    } else if (osName === 'windows' && !WINDOWS_SIGNALS.has(c.stopSignal.text)) {
      report({
        path: [...c.path, 'lifecycle', 'stopSignal'],
        message: `lifecycle.stopSignal ${c.stopSignal.text} on a Windows pod: the API server accepts only SIGTERM and SIGKILL there and rejects the pod`,
        fix: 'remove lifecycle.stopSignal (SIGTERM is the default)',
      });
    }
  },
};

export const stopSignalUnhandled: Rule = {
  id: 'stop-signal-unhandled',
  severity: 'error',
  on: 'container',
  summary: `lifecycle.stopSignal must be a signal the entrypoint treats as termination (deputy supervise: SIGTERM, SIGINT, --stop-signal, ${SETTINGS.stopSignals.env})`,
  problem: 'the signal is only passed on: the app never starts its graceful shutdown and is SIGKILLed when the grace period ends',
  fix: `add the signal to ${SETTINGS.stopSignals.env} (or deputy supervise --stop-signal), or remove lifecycle.stopSignal`,
  check(c, report) {
    if (!c.stopSignal) return;
    const { text, signal } = c.stopSignal;
    const path = [...c.path, 'lifecycle', 'stopSignal'];
    const hook = c.preStop.terminates ? " (the preStop hook's deputy terminate starts the shutdown first; this is what happens when the hook fails or times out)" : '';
    if (signal === undefined) {
      if (!/^SIG(KILL|STOP|RTMIN|RTMAX)/.test(text)) return; // not a signal at all: invalid-value
      report({
        path,
        message: `lifecycle.stopSignal ${text} cannot be caught by a Node process, so no graceful shutdown can start: ${text.startsWith('SIGKILL') ? 'the container is killed at once' : text.startsWith('SIGSTOP') ? 'the container is frozen until the grace period ends, then killed' : 'the real-time signal ends the app at once'}${hook}`,
        fix: 'remove lifecycle.stopSignal (SIGTERM is the default), or use a catchable signal the entrypoint treats as termination',
      });
      return;
    }
    if (c.terminationSignals.has(signal)) return;
    const short = signal.slice(3);
    const fix =
      c.entrypoint === 'shim'
        ? `set ${SETTINGS.stopSignals.env}=${short} (shim/supervise.sh reads it as deputy supervise does), or remove lifecycle.stopSignal`
        : c.entrypoint === 'command'
          ? `run the app under deputy supervise --stop-signal ${short} --, or remove lifecycle.stopSignal`
          : `set ${SETTINGS.stopSignals.env}=${short} (or deputy supervise --stop-signal ${short}), or remove lifecycle.stopSignal`;
    report({
      path,
      message: `the kubelet stops this container with ${signal} (lifecycle.stopSignal) instead of SIGTERM, but its entrypoint, ${c.terminationSignalsSource}, does not treat ${signal} as termination: ${c.entrypoint === 'command' ? `${signal}'s default action applies to the app` : 'it only passes it on to the app'}, no SIGTERM ever reaches the app, and it is SIGKILLed at the end of the grace period without a drain${hook}`,
      fix,
    });
  },
};
