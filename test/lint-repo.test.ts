// deputy lint over a whole repository of manifests, as CI runs it: a directory of a dozen services
// of which two run k8s-deputy (test/fixtures/manifests/repo) lints with no false finding; files
// without workloads, CRDs, Helm output and templates are not errors; --all checks everything.
import t, { type Test } from 'tap';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FIXTURES, runDeputy } from './helpers.js';
import { PassThrough } from 'node:stream';
import { lintInputs, readInputs, runLint, type LintCommandOptions, type LintResult, type LintSummary } from '../src/cli/lint/index.js';

const REPO = join(FIXTURES, 'manifests', 'repo');
const RULES_DIR = join(FIXTURES, 'manifests', 'rules');

/** The command in process (what the CLI runs after parsing), its output collected. */
async function lint(paths: string[], options: Partial<LintCommandOptions> = {}): Promise<{ status: number; stdout: string; stderr: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = '';
  let stderr = '';
  out.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  err.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const status = await runLint(paths, { format: 'text', ...options }, { out, err });
  return { status, stdout, stderr };
}

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'deputy-lint-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test('the repository lints clean: only the two k8s-deputy services are checked, the rest counted', async (t) => {
  const run = await runDeputy(['lint', '--strict', REPO]);
  t.equal(run.stderr, '');
  t.equal(run.status, 0);
  t.equal(run.stdout, '0 errors, 0 warnings: checked 2 containers in 2 workloads; skipped 16 containers with no sign of k8s-deputy (--all checks them), 32 other objects and 1 template file\n');

  const json = await lint([REPO], { format: 'json' });
  t.equal(json.status, 0);
  const report = JSON.parse(json.stdout) as { results: LintResult[]; summary: LintSummary };
  t.same(report.summary, { errors: 0, warnings: 0, workloads: 14, checkedWorkloads: 2, containers: 2, skippedContainers: 16, skippedObjects: 32, files: 24, skippedFiles: 1 });
  const files = report.results.map((r) => r.file.slice(REPO.length + 1));
  t.notOk(files.some((f) => f.startsWith('.github')), 'hidden directories are left out');
  t.notOk(files.includes('README.md'), 'only *.yaml and *.yml');
  t.ok(files.includes('services/celery-worker.yml'), '*.yml too');
  t.same(files, [...files].sort(), 'in name order');
  const checked = report.results.flatMap((r) => r.containers.filter((c) => c.checked).map((c) => `${c.kind}/${c.name}/${c.container}`));
  t.same(checked, ['Deployment/checkout/checkout', 'Deployment/notifications/worker']);
  const template = report.results.find((r) => r.file.endsWith('chart/templates/deployment.yaml'))!;
  t.match(template.ignored, /Helm\) template/);
  t.equal(report.results.find((r) => r.file.endsWith('chart/Chart.yaml'))!.ignoredDocuments, 1, 'YAML that is not Kubernetes is skipped in a directory');
});

t.test('--all checks every container as if it ran k8s-deputy', async (t) => {
  const run = await lint([REPO], { all: true, format: 'json' });
  t.equal(run.status, 1);
  const report = JSON.parse(run.stdout) as { results: LintResult[]; summary: LintSummary };
  t.equal(report.summary.containers, 18);
  t.equal(report.summary.skippedContainers, 0);
  const rules = new Set(report.results.flatMap((r) => r.findings.map((f) => `${f.name}:${f.rule}`)));
  for (const expected of ['inventory:command-overrides-entrypoint', 'recommendations:liveness-uses-readiness', 'search:legacy-sidecar', 'memcached:missing-readiness-probe']) {
    t.ok(rules.has(expected), expected);
  }
  t.notOk([...rules].some((r) => r.startsWith('sales-report:missing-')), 'a CronJob needs no probes, even with --all');
});

t.test('a file without workloads is not bad input; an unknown kind is named only when it shows k8s-deputy', async (t) => {
  const service = await lint([join(REPO, 'services', 'inventory', 'service.yaml')]);
  t.equal(service.status, 0);
  t.equal(service.stdout, '0 errors, 0 warnings: checked 0 containers in 0 workloads; skipped 1 other object\n');
  const knative = await lint([join(REPO, 'services', 'image-resizer.yaml')], { strict: true });
  t.equal(knative.status, 0, 'a Knative Service of a Go app is skipped quietly');
  const typo = await lint([join(RULES_DIR, 'unknown-kind.bad.yaml')]);
  t.match(typo.stdout, /warning unknown-kind: Deploymnet\/typo: kind Deploymnet is not one deputy lint knows/);
});

t.test('nothing showing k8s-deputy anywhere is one warning for the run, not one per workload', async (t) => {
  const dir = tempDir(t);
  for (const name of ['redis.yaml', 'cassandra.yaml', 'node-exporter.yaml']) {
    writeFileSync(join(dir, name), readFileSync(join(REPO, 'platform', name), 'utf8'));
  }
  const run = await lint([dir]);
  t.equal(run.status, 0);
  t.match(run.stdout, /^[^\n]*cassandra\.yaml:\d+: warning no-deputy-container: StatefulSet\/cassandra: none of the 4 containers in 3 workloads shows k8s-deputy/);
  t.equal(run.stdout.match(/no-deputy-container/g)?.length, 1);
  const strict = await lint([dir], { strict: true });
  t.equal(strict.status, 1, '--strict fails a run that checked nothing');
  const withDeputy = await lint([dir, join(REPO, 'services', 'notifications.yaml')], { strict: true });
  t.equal(withDeputy.status, 0, 'files and directories mix; one k8s-deputy service is enough');
});

t.test('bad input is still exit 2: a template named on the command line, a directory without manifests, broken YAML in a directory', async (t) => {
  const template = await runDeputy(['lint', join(REPO, 'chart', 'templates', 'deployment.yaml')]);
  t.equal(template.status, 2);
  t.match(template.stderr, /looks like a Helm or Go template; lint the rendered output instead \(helm template … \| deputy lint -\)\n$/);
  const chart = await lint([join(REPO, 'chart', 'Chart.yaml')]);
  t.equal(chart.status, 2, 'named explicitly, YAML that is not Kubernetes is bad input');

  const empty = tempDir(t);
  mkdirSync(join(empty, 'docs'));
  writeFileSync(join(empty, 'docs', 'notes.txt'), 'nothing here\n');
  const none = await runDeputy(['lint', empty]);
  t.equal(none.status, 2);
  t.match(none.stderr, /^deputy lint: no \*\.yaml or \*\.yml file below .+\n$/);

  const broken = tempDir(t);
  writeFileSync(join(broken, 'ok.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: a }\n');
  writeFileSync(join(broken, 'bad.yaml'), 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: [unclosed\n');
  const parse = await lint([broken]);
  t.equal(parse.status, 2);
  t.match(parse.stderr, /bad\.yaml: not valid YAML \(line \d+, column \d+\)/);
});

t.test('readInputs and lintInputs in process: a directory, files and the run rule together', async (t) => {
  const inputs = await readInputs([join(REPO, 'services'), join(RULES_DIR, 'legacy-sidecar.bad.yaml')]);
  t.ok(inputs.filter((i) => i.lenient).length >= 8, 'files below a directory are read leniently');
  t.equal(inputs.at(-1)!.lenient, undefined, 'a named file is not');
  const results = lintInputs(inputs);
  t.same(results.flatMap((r) => r.findings.map((f) => f.rule)), ['legacy-sidecar', 'legacy-sidecar']);
});
