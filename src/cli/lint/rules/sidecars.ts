/**
 * Sidecars at pod termination (KEP-753, on by default since Kubernetes 1.29). A proxy or agent
 * declared as a regular container gets its stop signal at the same moment as the app. A native
 * sidecar (`initContainers` entry with `restartPolicy: Always`) gets SIGTERM only once every main
 * container has exited, the last declared first, each after the previous one has stopped — all
 * within the one terminationGracePeriodSeconds; its preStop hook, though, runs at the start,
 * alongside the main containers' hooks.
 */
import { SETTINGS } from '../../../contract/settings.js';
import { sleepPrefix, worstStopMs, type ContainerContext } from '../pod.js';
import { ceilSeconds, formatMs } from '../types.js';
import type { Rule } from './rule.js';

const GRACE = SETTINGS.gracePeriod.env;

/** Proxies and agents that others in the pod depend on, matched on the container's name and image. */
const AGENTS: ReadonlyArray<readonly [string, RegExp]> = [
  ['the Istio proxy', /istio-proxy|(^|\/)proxyv2$/],
  ['the Linkerd proxy', /linkerd-proxy|linkerd2?\/proxy$/],
  ['Envoy', /(^|[/-])envoy($|[/-])|envoyproxy/],
  ['the Cloud SQL Auth Proxy', /cloud-?sql-proxy|cloud-sql-connectors|(^|\/)gce-proxy$/],
  ['Vault Agent', /vault-agent/],
  ['the OpenTelemetry Collector', /otel-?collector|opentelemetry-collector|(^|\/)otelcol/],
  ['the Consul dataplane', /consul-dataplane/],
  ['the Kuma data plane', /kuma-(dp|sidecar)/],
  ['a log shipper', /fluent-?bit|(^|\/)fluentd($|-)/],
  ['the Datadog Agent', /datadog-agent|datadog\/agent$/],
  ['the AWS X-Ray daemon', /xray-daemon/],
  ['oauth2-proxy', /oauth2-proxy/],
  ['PgBouncer', /pgbouncer/],
  ['cloudflared', /cloudflared/],
];

/** What the container is, when it is a known proxy or agent. */
function knownAgent(container: ContainerContext): string | undefined {
  const image = container.image.toLowerCase().replace(/@.*$/, '').replace(/:[^/]*$/, '');
  const name = container.name.toLowerCase();
  return AGENTS.find(([, pattern]) => pattern.test(name) || pattern.test(image))?.[0];
}

function meshHint(what: string): string {
  if (what === 'the Istio proxy') return ' (Istio 1.19+ injects it so with the pod annotation sidecar.istio.io/nativeSidecar: "true" or ENABLE_NATIVE_SIDECARS=true on istiod)';
  if (what === 'the Linkerd proxy') return ' (Linkerd injects it so with the annotation config.alpha.linkerd.io/proxy-enable-native-sidecar: "true")';
  return '';
}

const ONLY_SLEEP = /^\s*(\S*\/)?((ba|a|da)?sh\s+-c\s+)?(\S*\/)?sleep\s+[0-9.]+s?\s*$/;

/**
 * True when the agent's preStop hook keeps it running until the app has stopped: a sleep at least
 * as long as the app's stop, or any other command (a wait loop, a drain call) — trusted to wait.
 */
function holdsUntil(agent: ContainerContext, appStopMs: number | undefined): boolean {
  const { present, argv, sleepMs } = agent.preStop;
  if (!present) return false;
  if (argv.length > 0 && !ONLY_SLEEP.test(argv.join(' '))) return true;
  const lifecycle = agent.spec.lifecycle as { preStop?: { sleep?: unknown } };
  if (argv.length === 0 && lifecycle.preStop?.sleep === undefined) return false; // an httpGet hook returns at once
  return appStopMs === undefined || sleepMs >= appStopMs;
}

export const legacySidecar: Rule = {
  id: 'legacy-sidecar',
  severity: 'warning',
  on: 'pod',
  summary: 'a proxy or agent beside a k8s-deputy container should be a native sidecar, or be held by a preStop hook',
  problem: "as a regular container it gets SIGTERM at the same moment as the app and can stop while the app still drains: the app's calls through it then fail",
  fix: 'declare it under initContainers with restartPolicy: Always (Kubernetes 1.29+), or give it a preStop hook that outlasts the app',
  check(pod, report) {
    const apps = pod.containers.filter((c) => c.checked);
    for (const c of pod.containers) {
      const what = knownAgent(c);
      const beside = apps.filter((app) => app !== c);
      if (!what || c.deputy || beside.length === 0) continue;
      const app = beside.reduce((a, b) => ((worstStopMs(b) ?? 0) > (worstStopMs(a) ?? 0) ? b : a));
      const appStopMs = worstStopMs(app);
      if (holdsUntil(c, appStopMs)) continue;
      const appStop = app.deadline ? `${sleepPrefix(app)}${app.deadline.label}` : 'its deadline';
      const shortHold = c.preStop.present && c.preStop.sleepMs > 0 ? `; its preStop sleep ${formatMs(c.preStop.sleepMs)} holds it for less than ${app.name}'s stop (${appStop})` : '';
      report({
        container: c.name,
        path: c.path,
        message: `${c.name} is ${what}, declared as a regular container beside ${app.name}, which runs k8s-deputy: the kubelet sends it SIGTERM at the same moment as the app, so it can stop while ${app.name} still drains and the calls that go through it then fail${shortHold}`,
        fix: `move ${c.name} to initContainers with restartPolicy: Always, a native sidecar that stops only after the main containers (Kubernetes 1.29+)${meshHint(what)}; or hold it with a preStop hook that outlasts the app, e.g. sleep: { seconds: ${appStopMs === undefined ? 30 : ceilSeconds(appStopMs)} }`,
      });
    }
  },
};

export const sidecarBudget: Rule = {
  id: 'sidecar-budget',
  severity: 'error',
  on: 'pod',
  summary: "the main containers' stop plus each native sidecar's own stop (its deadline when it runs k8s-deputy) must fit in terminationGracePeriodSeconds",
  problem: 'native sidecars stop only after the main containers, inside the same grace period: the last ones are SIGKILLed before they finish',
  fix: `raise terminationGracePeriodSeconds to the sum, or lower the ${GRACE} of the main containers or of the sidecars`,
  check(pod, report) {
    if (pod.sidecars.length === 0 || pod.graceMs === undefined) return;
    let mainMs = 0;
    let main: ContainerContext | undefined;
    for (const c of pod.containers) {
      const ms = worstStopMs(c);
      if (ms === undefined) return; // a deadline decided at run time: nothing to add up
      if (ms > mainMs || !main) [mainMs, main] = [ms, c];
    }
    if (mainMs > pod.graceMs) return; // grace-period-budget reports the main container itself
    const steps = [main?.checked && main.deadline ? `${main.name} ${sleepPrefix(main)}${main.deadline.label}` : `${main?.name ?? 'the main containers'} ${formatMs(mainMs)}`];
    let atMs = mainMs;
    for (const sidecar of [...pod.sidecars].reverse()) {
      const ownMs = sidecar.checked ? sidecar.deadline?.ms : 0;
      if (ownMs === undefined) return;
      atMs = Math.max(atMs, sidecar.preStop.sleepMs) + ownMs;
      if (sidecar.checked) steps.push(`then ${sidecar.name} ${sidecar.deadline!.label}`);
      if (atMs <= pod.graceMs) continue;
      report({
        container: sidecar.name,
        path: pod.gracePath,
        message: `native sidecars stop only after the main containers: ${steps.join(', ')} = ${formatMs(atMs)} exceeds ${pod.graceLabel}: the kubelet SIGKILLs sidecar ${sidecar.name} before it finishes its own shutdown`,
        fix: `raise terminationGracePeriodSeconds to ${ceilSeconds(atMs)} or more, or lower ${GRACE} of ${main?.name ?? 'the main containers'} or ${sidecar.name} (a sidecar that only serves the app can stop quickly: nothing routes to it once the app is gone, so ${SETTINGS.drainDelay.env}=0 there)`,
      });
      return;
    }
  },
};

export const sidecarPreStopTerminate: Rule = {
  id: 'sidecar-prestop-terminate',
  severity: 'warning',
  on: 'container',
  summary: 'a native sidecar that runs k8s-deputy should not run deputy terminate as its preStop hook',
  problem: "the kubelet runs a sidecar's preStop hook when the pod starts terminating, so the sidecar shuts down while the app still drains",
  fix: 'remove the hook: the sidecar gets SIGTERM after the main containers have exited, and deputy supervise turns it into terminate',
  check(c, report) {
    if (!c.sidecar || !c.preStop.terminates) return;
    report({
      path: [...c.path, 'lifecycle', 'preStop'],
      message: `native sidecar ${c.name} runs deputy terminate as its preStop hook: the kubelet runs a sidecar's preStop hook as soon as the pod starts terminating, alongside the main containers' hooks, so ${c.name} shuts down while the app still drains — the order native sidecars exist for is lost`,
      fix: `remove lifecycle.preStop from ${c.name}: the kubelet sends it SIGTERM only after the main containers have exited, and deputy supervise turns that into terminate`,
    });
  },
};
