// deputy lint's rule table, rule by rule: every rule id has a manifest that breaks it
// (test/fixtures/manifests/rules/<id>.bad.yaml) and one that is clean (<id>.good.yaml), and the
// Kubernetes 1.29–1.34 rules say what they found with the manifest's own numbers.
import t from 'tap';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES } from './helpers.js';
import { RULES, lintManifest, type LintFinding, type LintResult } from '../src/cli/lint/index.js';
import { parseSignal } from '../src/contract/signals.js';

const DIR = join(FIXTURES, 'manifests', 'rules');
const lint = (name: string, all = false): LintResult => lintManifest(readFileSync(join(DIR, name), 'utf8'), name, { all });
const only = (findings: readonly LintFinding[], rule: string): LintFinding[] => findings.filter((f) => f.rule === rule);

t.test('every rule has a failing and a clean manifest, and no fixture names a rule that does not exist', async (t) => {
  const ids = new Set(RULES.map((rule) => rule.id));
  t.equal(ids.size, RULES.length, 'rule ids are unique');
  for (const name of readdirSync(DIR)) {
    const match = /^(.+)\.(bad|good)\.yaml$/.exec(name);
    t.ok(match && ids.has(match[1]!), `${name} belongs to a rule`);
  }
  for (const rule of RULES) {
    const bad = lint(`${rule.id}.bad.yaml`);
    const found = only(bad.findings, rule.id);
    t.ok(found.length > 0, `${rule.id}: the bad manifest breaks it`);
    for (const f of found) {
      t.equal(f.severity, rule.severity, `${rule.id}: severity from the table`);
      t.ok(f.message.length > 20 && f.fix.length > 10, `${rule.id}: a message and a fix`);
      t.ok(f.line === undefined || f.line > 0, `${rule.id}: a line when there is one`);
    }
    t.same(lint(`${rule.id}.good.yaml`).findings, [], `${rule.id}: the good manifest is clean`);
  }
});

t.test('legacy-sidecar: known proxies as regular containers beside the app, unless held long enough', async (t) => {
  const { findings } = lint('legacy-sidecar.bad.yaml');
  t.same(findings.map((f) => `${f.container}:${f.rule}`), ['istio-proxy:legacy-sidecar', 'sql:legacy-sidecar']);
  const [istio, sql] = findings;
  t.match(istio!.message, /istio-proxy is the Istio proxy, declared as a regular container beside app, which runs k8s-deputy: the kubelet sends it SIGTERM at the same moment/);
  t.match(istio!.fix, /initContainers with restartPolicy: Always.*sidecar\.istio\.io\/nativeSidecar/);
  t.match(sql!.message, /its preStop sleep 10s holds it for less than app's stop \(DEPUTY_GRACE_PERIOD 20s\)/);
  t.match(sql!.fix, /sleep: \{ seconds: 20 \}/);
  t.equal(istio!.path, 'spec.template.spec.containers[1]');
  t.equal(istio!.line, 17);

  const text = readFileSync(join(DIR, 'legacy-sidecar.bad.yaml'), 'utf8');
  const alone = lintManifest(text.replace(/ {10}env: \[\{ name: DEPUTY_GRACE_PERIOD.*\n/, '').replace(/ {10}lifecycle: \{ preStop: \{ exec: \{ command: \[deputy, terminate\] \} \} \}\n/, ''));
  t.same(alone.findings.map((f) => f.rule), ['no-deputy-container'], 'beside an app without k8s-deputy, the proxies are none of our business');
});

t.test('sidecar-budget: the main containers, then each native sidecar in reverse order, in one grace period', async (t) => {
  const [budget, ...rest] = lint('sidecar-budget.bad.yaml').findings;
  t.same(rest, []);
  t.equal(budget!.container, 'gateway');
  t.match(budget!.message, /app DEPUTY_GRACE_PERIOD 20s, then gateway DEPUTY_GRACE_PERIOD 20s = 40s exceeds terminationGracePeriodSeconds 30/);
  t.match(budget!.fix, /terminationGracePeriodSeconds to 40 or more/);
  t.equal(budget!.path, 'spec.template.spec.terminationGracePeriodSeconds');

  // two native sidecars: the later one stops first, then the earlier one
  const two = readFileSync(join(DIR, 'sidecar-budget.good.yaml'), 'utf8').replace(
    '      containers:\n',
    [
      '        - name: audit',
      '          image: registry.example.com/audit-shipper:1.0.0',
      '          restartPolicy: Always',
      '          env: [{ name: DEPUTY_DRAIN_DELAY, value: "0s" }, { name: DEPUTY_GRACE_PERIOD, value: "8s" }, { name: DEPUTY_HEALTH_CHECK_PORT, value: "8083" }]',
      '          readinessProbe: { exec: { command: [deputy, probe, --ready, -q] }, periodSeconds: 2, failureThreshold: 2 }',
      '          livenessProbe: { exec: { command: [deputy, probe, --live, -q] } }',
      '      containers:\n',
    ].join('\n'),
  );
  const chained = lintManifest(two).findings;
  t.same(chained.map((f) => `${f.container}:${f.rule}`), ['gateway:sidecar-budget'], 'audit (declared last) stops first and fits; gateway does not');
  t.match(chained[0]!.message, /app DEPUTY_GRACE_PERIOD 20s, then audit DEPUTY_GRACE_PERIOD 8s, then gateway DEPUTY_GRACE_PERIOD 5s = 33s exceeds terminationGracePeriodSeconds 30/);
});

t.test('native sidecars are checked like containers and never reported as unknown; plain init containers are not checked', async (t) => {
  const text = readFileSync(join(DIR, 'sidecar-budget.good.yaml'), 'utf8');
  const { containers } = lintManifest(text);
  t.same(containers.map((c) => [c.container, c.sidecar, c.checked]), [['app', false, true], ['gateway', true, true]]);
  const unprobed = lintManifest(text.replace(/ {10}readinessProbe: \{ exec: \{ command: \[deputy, probe, --ready.*\n/, ''));
  t.same(unprobed.findings.map((f) => `${f.container}:${f.rule}`), ['gateway:missing-readiness-probe']);
  const plainInit = lintManifest(text.replace('          restartPolicy: Always\n', ''));
  t.same(plainInit.containers.map((c) => c.container), ['app'], 'without restartPolicy: Always it runs before the app and is gone at termination');
  t.same(plainInit.findings, []);
});

t.test('sidecar-prestop-terminate and shared-ipc-volume', async (t) => {
  const [early] = lint('sidecar-prestop-terminate.bad.yaml').findings;
  t.match(early!.message, /runs a sidecar's preStop hook as soon as the pod starts terminating/);
  t.equal(early!.path, 'spec.initContainers[0].lifecycle.preStop');
  const [shared] = lint('shared-ipc-volume.bad.yaml').findings;
  t.match(shared!.message, /containers app and gateway both keep their IPC directory on volume run: they share deputy-entrypoint\.pid/);
  t.match(shared!.fix, /name: run-gateway, mountPath: \/run/);
});

t.test('stop signals: os.name required, and a signal the entrypoint only forwards is an error', async (t) => {
  const [os] = lint('stop-signal-os.bad.yaml').findings;
  t.match(os!.message, /lifecycle\.stopSignal SIGINT is set but the pod spec has no os\.name: the API server rejects the pod/);
  t.equal(os!.path, 'spec.template.spec.containers[0].lifecycle.stopSignal');

  const [app, worker] = lint('stop-signal-unhandled.bad.yaml').findings;
  t.match(app!.message, /stops this container with SIGQUIT .* its entrypoint, deputy supervise \(SIGTERM, SIGINT\), does not treat SIGQUIT as termination: it only passes it on/);
  t.match(app!.fix, /DEPUTY_STOP_SIGNALS=QUIT \(or deputy supervise --stop-signal QUIT\)/);
  t.match(worker!.message, /deputy supervise \(SIGTERM, SIGINT, --stop-signal USR2\)/);

  const text = readFileSync(join(DIR, 'stop-signal-unhandled.bad.yaml'), 'utf8');
  const rewrite = lintManifest(text.replace('env: [{ name: DEPUTY_GRACE_PERIOD, value: "20s" }]', 'env: [{ name: DEPUTY_GRACE_PERIOD, value: "20s" }, { name: DEPUTY_REWRITE, value: "QUIT:TERM" }]'));
  t.same(rewrite.findings.map((f) => f.container), ['worker'], 'DEPUTY_REWRITE QUIT:TERM makes SIGQUIT a termination');
  const shim = text.replace('command: [deputy, supervise, --stop-signal, USR2, --, node, worker.js]', 'command: [/usr/local/bin/supervise.sh, node, worker.js]');
  const [shimFinding] = only(lintManifest(shim).findings, 'stop-signal-unhandled').filter((f) => f.container === 'worker');
  t.match(shimFinding!.message, /its entrypoint, shim\/supervise\.sh \(SIGTERM, SIGINT\), does not treat SIGQUIT/);
  t.match(shimFinding!.fix, /set DEPUTY_STOP_SIGNALS=QUIT \(shim\/supervise\.sh reads it/);
  const shimSet = lintManifest(shim.replace('{ name: DEPUTY_HEALTH_CHECK_PORT, value: "8082" }', '{ name: DEPUTY_HEALTH_CHECK_PORT, value: "8082" }, { name: DEPUTY_STOP_SIGNALS, value: "3" }'));
  t.same(shimSet.findings.map((f) => f.container), ['app'], 'the shim reads DEPUTY_STOP_SIGNALS too');
  const chld = lintManifest(text.replace('{ name: DEPUTY_HEALTH_CHECK_PORT, value: "8082" }', '{ name: DEPUTY_HEALTH_CHECK_PORT, value: "8082" }, { name: DEPUTY_STOP_SIGNALS, value: "CHLD" }'));
  t.ok(chld.findings.some((f) => f.container === 'worker' && /DEPUTY_STOP_SIGNALS names "CHLD".*exit 2/.test(f.message)), 'a stop signal the entrypoint refuses is reported');
  const sdk = lintManifest(text.replace('command: [deputy, supervise, --stop-signal, USR2, --, node, worker.js]', 'command: [node, worker.js]'));
  t.match(only(sdk.findings, 'stop-signal-unhandled').find((f) => f.container === 'worker')!.message, /its entrypoint, the app \(the Deputy SDK listens for SIGTERM and SIGINT\)/);
  const kill = lintManifest(text.replaceAll('stopSignal: SIGQUIT', 'stopSignal: SIGKILL'));
  t.match(only(kill.findings, 'stop-signal-unhandled')[0]!.message, /SIGKILL cannot be caught .* the container is killed at once/);
  const windows = lintManifest(text.replace('os: { name: linux }', 'os: { name: windows }'));
  t.same(only(windows.findings, 'stop-signal-os').length, 2, 'Windows takes only SIGTERM and SIGKILL');
});

t.test('probe-grace-period, gRPC probes, and a preStop sleep of 0', async (t) => {
  const [liveness, startup] = lint('probe-grace-period.bad.yaml').findings;
  t.match(liveness!.message, /livenessProbe\.terminationGracePeriodSeconds 5 is shorter than the app's deadline DEPUTY_GRACE_PERIOD 20s/);
  t.equal(liveness!.path, 'spec.template.spec.containers[0].livenessProbe.terminationGracePeriodSeconds');
  t.match(startup!.fix, /raise it to 20 or more/);

  const [http, grpc] = lint('liveness-uses-readiness.bad.yaml').findings;
  t.match(http!.message, /\(\/readyz\)/);
  t.match(grpc!.message, /\(grpc 9090\/\)/);
  t.match(grpc!.fix, /own gRPC health service name/);

  const zero = lint('invalid-value.good.yaml');
  t.same(zero.findings, [], 'sleep: { seconds: 0 } is valid since Kubernetes 1.33 (KEP-4818)');
  const bad = lint('invalid-value.bad.yaml').findings.map((f) => f.message).join('\n');
  t.match(bad, /DEPUTY_STOP_SIGNALS names "SIGBOGUS"/);
  t.match(bad, /preStop sleep seconds 2\.5 is not a whole number/);
  t.match(bad, /lifecycle\.stopSignal "SIGNOPE" is not a signal name/);
});

t.test('parseSignal: names with or without SIG, numbers; unknown, SIGKILL and SIGSTOP refused', async (t) => {
  t.equal(parseSignal('SIGQUIT'), 'SIGQUIT');
  t.equal(parseSignal('quit'), 'SIGQUIT');
  t.equal(parseSignal(' 3 '), 'SIGQUIT');
  t.equal(parseSignal('15'), 'SIGTERM');
  t.throws(() => parseSignal('SIGBOGUS', '--stop-signal'), { code: 'EDEPUTY_USAGE', message: /--stop-signal: unknown signal "SIGBOGUS"/ });
  t.throws(() => parseSignal('99'), { message: /unknown signal "99"/ });
  t.throws(() => parseSignal('KILL'), { message: /SIGKILL cannot be caught/ });
  t.throws(() => parseSignal('19'), { message: /SIGSTOP cannot be caught/ });
});
