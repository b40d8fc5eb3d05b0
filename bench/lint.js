// `deputy lint` wall time, as a CI step pays it, against anchors measured in the same run:
// `node -e 0` (the floor of any node CLI) and `deputy --version` (the CLI without a command).
// Also a directory as CI lints it (test/fixtures/manifests/repo: 24 files, 14 workloads, two of
// them with k8s-deputy), and lintManifest() in-process on a 500-workload file, for throughput.
// Usage: npm run build && node bench/lint.js [runs]   (default 15 runs per row; stops by itself)
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { lintManifest } from '../dist/cli/lint/index.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const runs = Math.min(Math.max(Number(process.argv[2] ?? 15), 3), 200);
const bin = join(root, 'bin', 'deputy.js');
const quickstart = join(root, 'examples', 'k8s', 'deployment.yaml');
const repo = join(root, 'test', 'fixtures', 'manifests', 'repo');
const dir = mkdtempSync(join(tmpdir(), 'deputy-bench-lint-'));
const big = join(dir, 'big.yaml');
const one = readFileSync(quickstart, 'utf8');
writeFileSync(big, Array.from({ length: 500 }, (_, i) => one.replaceAll('http-app', `http-app-${i}`)).join('\n---\n'));

function time(args) {
  const samples = [];
  for (let i = 0; i < runs; i += 1) {
    const start = process.hrtime.bigint();
    const result = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    samples.push(Number(process.hrtime.bigint() - start) / 1e6);
    if (result.status !== 0) throw new Error(`${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  }
  return samples.sort((a, b) => a - b);
}

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))];
const rows = [
  ['node -e 0 (anchor)', time(['-e', '0'])],
  ['deputy --version (anchor)', time([bin, '--version'])],
  ['deputy lint quickstart (1 workload)', time([bin, 'lint', quickstart])],
  ['deputy lint 500 workloads', time([bin, 'lint', big])],
  ['deputy lint repo/ (24 files, 14 workloads)', time([bin, 'lint', repo])],
];
const text = readFileSync(big, 'utf8');
const inProcess = [];
for (let i = 0; i < runs; i += 1) {
  const start = process.hrtime.bigint();
  lintManifest(text, 'big.yaml');
  inProcess.push(Number(process.hrtime.bigint() - start) / 1e6);
}
rows.push(['lintManifest() 500 workloads, in process', inProcess.sort((a, b) => a - b)]);
rmSync(dir, { recursive: true, force: true });

const anchor = pct(rows[0][1], 0.5);
console.log(`runs per row: ${runs}`);
console.log('| what | p50 ms | p95 ms | p50 − node -e 0 |');
console.log('|---|---:|---:|---:|');
for (const [name, samples] of rows) {
  const p50 = pct(samples, 0.5);
  const overhead = name.includes('in process') ? '' : `${(p50 - anchor).toFixed(1)}`;
  console.log(`| ${name} | ${p50.toFixed(1)} | ${pct(samples, 0.95).toFixed(1)} | ${overhead} |`);
}
