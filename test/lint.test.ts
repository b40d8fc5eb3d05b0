// deputy lint: each rule against a manifest that breaks it, the quickstart manifest clean, and
// unreadable input rejected with one line and exit 2.
import t from 'tap';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { DEPUTY_BIN, FIXTURES, ROOT, runDeputy } from './helpers.js';
import { LINT_RULES, ManifestError, formatMs, lintManifest, type LintFinding, type LintResult } from '../src/cli/lint/index.js';

const MANIFESTS = join(FIXTURES, 'manifests');
const lintFixture = (name: string): LintResult => lintManifest(readFileSync(join(MANIFESTS, name), 'utf8'), name);
const rules = (findings: readonly LintFinding[]): string[] => findings.map((f) => `${f.name}/${f.container ?? '-'}:${f.rule}`).sort();

t.test('the quickstart manifest lints clean', async (t) => {
  const result = lintManifest(readFileSync(join(ROOT, 'examples', 'k8s', 'deployment.yaml'), 'utf8'));
  t.same(result.findings, []);
  t.same(result.workloads, [{ document: 1, kind: 'Deployment', name: 'http-app' }]);
  t.same(result.skipped, [{ document: 2, kind: 'Service', name: 'http-app' }], 'the Service is read and skipped');
});

t.test('every example manifest lints clean, every container of them checked or a known foreign sidecar', async (t) => {
  const dir = join(ROOT, 'examples', 'k8s');
  const files = readdirSync(dir).filter((name) => /\.ya?ml$/.test(name));
  t.ok(files.includes('sidecar.yaml'), 'the native sidecar example is among them');
  for (const name of files) {
    const result = lintManifest(readFileSync(join(dir, name), 'utf8'), name);
    t.same(result.findings, [], name);
    t.ok(result.containers.some((c) => c.checked), `${name}: something was checked`);
  }
  const sidecar = lintManifest(readFileSync(join(dir, 'sidecar.yaml'), 'utf8'), 'sidecar.yaml');
  t.same(sidecar.containers.map((c) => [c.container, c.sidecar, c.checked]), [['app', false, true], ['cloud-sql-proxy', true, false]]);
});

t.test('the worker manifest lints clean (an explicit drain delay of 0 skips the readiness race)', async (t) => {
  const result = lintManifest(readFileSync(join(ROOT, 'examples', 'k8s', 'worker.yaml'), 'utf8'));
  t.same(result.findings, []);
  const slower = lintManifest(readFileSync(join(ROOT, 'examples', 'k8s', 'worker.yaml'), 'utf8').replace('value: "0s"', 'value: "1s"'));
  t.same(slower.findings.map((f) => f.rule), ['readiness-slower-than-drain'], 'with a drain delay the rule applies');
});

t.test('grace-period-budget: preStop sleep + app deadline beyond terminationGracePeriodSeconds', async (t) => {
  const { findings } = lintFixture('tight-grace.yaml');
  t.same(rules(findings), ['tight/app:grace-period-budget', 'tight/app:supervisor-before-app-deadline', 'tight/app:supervisor-timeout']);
  const budget = findings.find((f) => f.rule === 'grace-period-budget')!;
  t.equal(budget.severity, 'error');
  t.match(budget.message, /preStop sleep 5s \+ .*DEPUTY_GRACE_PERIOD 30s \(the default\), = 35s exceeds terminationGracePeriodSeconds 10/);
  t.match(budget.fix, /DEPUTY_GRACE_PERIOD to 5s or less, or terminationGracePeriodSeconds to 35 or more/);
  t.equal(budget.line, 11, 'points at terminationGracePeriodSeconds');
  t.equal(budget.path, 'spec.template.spec.terminationGracePeriodSeconds');
  const supervisor = findings.find((f) => f.rule === 'supervisor-timeout')!;
  t.match(supervisor.message, /5s \+ the supervisor timeout DEPUTY_TIMEOUT 25s \(the default\) = 30s is at or above terminationGracePeriodSeconds 10/);
});

t.test('grace-period-budget: an exec sleep longer than the grace period', async (t) => {
  const { findings } = lintFixture('sleep-too-long.yaml');
  t.same(rules(findings), ['sleepy/app:grace-period-budget', 'sleepy/app:supervisor-timeout']);
  t.match(findings[0]!.message, /preStop sleep 25s uses all of terminationGracePeriodSeconds 20/);
  t.equal(findings[0]!.path, 'spec.containers[0].lifecycle.preStop');
});

t.test('drain-delay-budget and supervisor-timeout from env', async (t) => {
  const { findings } = lintFixture('drain-too-long.yaml');
  t.same(rules(findings), ['drainer/app:drain-delay-budget', 'drainer/app:supervisor-timeout']);
  t.match(findings[0]!.message, /DEPUTY_DRAIN_DELAY 20s is not shorter than the app's deadline DEPUTY_GRACE_PERIOD 20s/);
  t.match(findings[1]!.message, /DEPUTY_TIMEOUT 60s = 60s is at or above terminationGracePeriodSeconds 60/);
  t.match(findings[1]!.fix, /DEPUTY_TIMEOUT below 60s \(e\.g\. 55s\)/);
});

t.test('liveness-uses-readiness over HTTP and exec', async (t) => {
  const { findings, workloads } = lintFixture('liveness-on-readiness.yaml');
  t.equal(workloads.length, 2, 'both documents read');
  t.same(rules(findings), ['exec-probe/app:liveness-uses-readiness', 'http-probe/app:liveness-uses-readiness']);
  t.match(findings.find((f) => f.name === 'http-probe')!.fix, /\/livez/);
  t.match(findings.find((f) => f.name === 'exec-probe')!.fix, /deputy, probe, --live/);
  t.equal(findings.find((f) => f.name === 'exec-probe')!.document, 2);
});

t.test('command-overrides-entrypoint; a --timeout flag is read; a foreign proxy is not checked, only named a legacy sidecar', async (t) => {
  const { findings, containers } = lintFixture('command-override.yaml');
  t.same(rules(findings), ['overridden/app:command-overrides-entrypoint', 'overridden/envoy:legacy-sidecar', 'overridden/worker:supervisor-timeout']);
  t.same(containers.map((c) => `${c.container}:${c.checked}`), ['app:true', 'worker:true', 'envoy:false']);
  const override = findings.find((f) => f.rule === 'command-overrides-entrypoint')!;
  t.match(override.fix, /args: \["node","server\.js","--port","8080"\]/, 'the fix keeps the args');
  t.match(findings.find((f) => f.rule === 'supervisor-timeout')!.message, /deputy supervise --timeout 40s/);
});

t.test('readonly-root-without-ipc-volume, inside a List', async (t) => {
  const { findings, workloads } = lintFixture('readonly-root.yaml');
  t.same(workloads.map((w) => w.name), ['no-run', 'read-only-run', 'ipc-under-tmp']);
  t.same(rules(findings), ['no-run/app:readonly-root-without-ipc-volume', 'read-only-run/app:readonly-root-without-ipc-volume']);
  t.equal(findings[0]!.path, 'items[0].spec.containers[0].securityContext.readOnlyRootFilesystem');
  t.equal(findings[0]!.line, 14);
});

t.test('missing probes; slow readiness; no probe rules for a CronJob', async (t) => {
  const { findings, workloads } = lintFixture('missing-probes.yaml');
  t.same(workloads.map((w) => w.kind), ['Deployment', 'Deployment', 'CronJob']);
  t.same(rules(findings), ['slow-readiness/app:readiness-slower-than-drain', 'unprobed/app:missing-liveness-probe', 'unprobed/app:missing-readiness-probe']);
  const slow = findings.find((f) => f.rule === 'readiness-slower-than-drain')!;
  t.equal(slow.severity, 'warning');
  t.match(slow.message, /periodSeconds 10 × failureThreshold 3 = 30s/);
});

t.test('defaults: the supervisor comes before the app deadline; containers without k8s-deputy are skipped, not reported', async (t) => {
  const { findings, containers } = lintFixture('defaults.yaml');
  t.same(rules(findings), ['defaults/app:supervisor-before-app-deadline']);
  t.same(
    containers.map((c) => `${c.name}/${c.container}:${c.checked}`),
    ['defaults/app:true', 'defaults/sidecar:false', 'two-strangers/a:false', 'two-strangers/b:false'],
  );
  const all = lintManifest(readFileSync(join(MANIFESTS, 'defaults.yaml'), 'utf8'), 'defaults.yaml', { all: true });
  t.ok(all.containers.every((c) => c.checked), '--all checks every container');
  t.ok(all.findings.some((f) => f.name === 'two-strangers' && f.rule === 'missing-readiness-probe'), '--all checks them as if they ran k8s-deputy');
});

t.test('unknown kinds are named, known non-workloads skipped, Argo Rollouts checked', async (t) => {
  const { findings, workloads, skipped } = lintFixture('unknown-kind.yaml');
  t.same(workloads, [{ document: 3, kind: 'Rollout', name: 'rolled' }]);
  t.same(skipped.map((s) => s.kind), ['Deploymnet', 'Service']);
  t.same(rules(findings), ['rolled/app:liveness-uses-readiness', 'typo/-:unknown-kind']);
  const unknown = findings.find((f) => f.rule === 'unknown-kind')!;
  t.equal(unknown.severity, 'warning');
  t.equal(unknown.line, 3);
  t.match(unknown.message, /kind Deploymnet is not one deputy lint knows/);
  const quiet = lintManifest('apiVersion: x/v1\nkind: Deploymnet\nmetadata: { name: a }\nspec: {}\n');
  t.same(quiet.findings, [], 'an unknown kind without containers (a CRD object) is skipped quietly');
  t.same(quiet.skipped, [{ document: 1, kind: 'Deploymnet', name: 'a' }]);
});

t.test('invalid values are errors; valueFrom is not judged', async (t) => {
  const { findings } = lintFixture('invalid-values.yaml');
  t.same(rules(findings), ['invalid/-:invalid-value', 'invalid/app:invalid-value', 'invalid/app:invalid-value']);
  t.match(findings.map((f) => f.message).join('\n'), /DEPUTY_DRAIN_DELAY="a while" is not a duration/);
  t.match(findings.map((f) => f.message).join('\n'), /--timeout "soon" is not a duration/);
  t.match(findings.map((f) => f.message).join('\n'), /terminationGracePeriodSeconds "thirty"/);
});

t.test('bad input throws ManifestError with one clear message', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['not-yaml.yaml', /^not-yaml\.yaml: not valid YAML \(line \d+, column \d+\): /],
    ['not-kubernetes.yaml', /document 1 is not a Kubernetes object \(it is a mapping without apiVersion and kind\)/],
    ['no-template.yaml', /document 1 \(Deployment\/hollow\): spec\.template\.spec is missing/],
  ];
  for (const [name, message] of cases) {
    t.throws(() => lintFixture(name), ManifestError, name);
    t.throws(() => lintFixture(name), { message }, name);
  }
  const noWorkload = lintFixture('no-workload.yaml');
  t.same([noWorkload.findings, noWorkload.workloads.length, noWorkload.skipped.map((s) => s.kind)], [[], 0, ['Service', 'ConfigMap']], 'no workload is not bad input');
  t.same(lintManifest('', 'empty.yaml').findings, [], 'nor is an empty file');
  t.throws(() => lintManifest('just a string\n'), { message: /is not a Kubernetes object \(it is the string "just a string"\)/ });
  t.throws(() => lintManifest('- a\n- b\n'), { message: /it is a list/ });
  t.throws(() => lintManifest('apiVersion: v1\nkind: Pod\nmetadata: { name: p }\nspec: { containers: [] }\n'), { message: /non-empty list of containers/ });
});

t.test('every rule has a summary and a severity', async (t) => {
  for (const [id, rule] of Object.entries(LINT_RULES)) {
    t.ok(rule.summary.length > 10, id);
    t.ok(rule.severity === 'error' || rule.severity === 'warning', id);
  }
  t.equal(formatMs(2500), '2.5s');
  t.equal(formatMs(250), '250ms');
  t.equal(formatMs(60_000), '60s');
});

t.test('deputy lint: exit statuses and output', async (t) => {
  const clean = await runDeputy(['lint', join(ROOT, 'examples', 'k8s', 'deployment.yaml')]);
  t.equal(clean.status, 0);
  t.equal(clean.stdout, '0 errors, 0 warnings: checked 1 container in 1 workload; skipped 1 other object\n');

  const broken = await runDeputy(['lint', join(MANIFESTS, 'tight-grace.yaml'), join(MANIFESTS, 'liveness-on-readiness.yaml')]);
  t.equal(broken.status, 1, 'errors exit 1');
  t.match(broken.stdout, /tight-grace\.yaml:11: error grace-period-budget: Deployment\/tight container app: /);
  t.match(broken.stdout, /\n {2}fix: /);
  t.match(broken.stdout, /\n4 errors, 1 warning: checked 3 containers in 3 workloads\n$/);
  t.equal(broken.stderr, '');

  const warnings = await runDeputy(['lint', join(MANIFESTS, 'defaults.yaml')]);
  t.equal(warnings.status, 0, 'warnings alone exit 0');
  const strict = await runDeputy(['lint', '--strict', join(MANIFESTS, 'defaults.yaml')]);
  t.equal(strict.status, 1, '--strict makes warnings fail');

  const json = await runDeputy(['lint', '--format', 'json', join(MANIFESTS, 'drain-too-long.yaml')]);
  t.equal(json.status, 1);
  const report = JSON.parse(json.stdout) as { results: LintResult[]; summary: { errors: number; warnings: number; workloads: number } };
  t.same(report.summary, { errors: 2, warnings: 0, workloads: 1, checkedWorkloads: 1, containers: 1, skippedContainers: 0, skippedObjects: 0, files: 1, skippedFiles: 0 });
  t.same(report.results[0]!.findings.map((f) => f.rule), ['drain-delay-budget', 'supervisor-timeout']);
  t.equal(report.results[0]!.findings[0]!.line, 17);

  const help = await runDeputy(['lint', '--help']);
  t.equal(help.status, 0);
  for (const id of Object.keys(LINT_RULES)) t.match(help.stdout, id, `--help lists ${id}`);
});

t.test('deputy lint: bad input is one line on stderr and exit 2, never a stack trace', async (t) => {
  for (const name of ['not-yaml.yaml', 'not-kubernetes.yaml', 'no-template.yaml', 'does-not-exist.yaml']) {
    const result = await runDeputy(['lint', join(MANIFESTS, name)]);
    t.equal(result.status, 2, name);
    t.equal(result.stdout, '', name);
    t.match(result.stderr, /^deputy lint: [^\n]+\n$/, `${name}: one line`);
    t.notMatch(result.stderr, /\bat .*\.js:\d+/, `${name}: no stack trace`);
  }
  const missing = await runDeputy(['lint', join(MANIFESTS, 'does-not-exist.yaml')]);
  t.match(missing.stderr, /cannot read .*does-not-exist\.yaml: ENOENT/);
  const format = await runDeputy(['lint', '--format', 'xml', join(MANIFESTS, 'defaults.yaml')]);
  t.equal(format.status, 2);
  t.match(format.stderr, /argument 'xml' is invalid/);
  const none = await runDeputy(['lint']);
  t.equal(none.status, 2);
  t.match(none.stderr, /missing required argument 'manifest'/);
});

t.test('deputy lint - reads stdin', async (t) => {
  const child = spawn(process.execPath, [DEPUTY_BIN, 'lint', '-'], { stdio: ['pipe', 'pipe', 'pipe'] });
  t.teardown(() => {
    if (child.exitCode === null && child.pid) process.kill(child.pid, 'SIGKILL');
  });
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stdin.end(readFileSync(join(MANIFESTS, 'readonly-root.yaml')));
  const status = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  t.equal(status, 1);
  t.match(stdout, /^-:14: error readonly-root-without-ipc-volume: Pod\/no-run container app: /);
});
