#!/usr/bin/env node
// "Orphan churn": each init runs as a real PID 1 (`unshare --pid --fork --mount-proc`) under a
// child that leaves BENCH_ORPHANS (default 15,000) short-lived orphans behind, one at a time
// (test/fixtures/orphan-storm.sh), so every one becomes the init's zombie and costs it a SIGCHLD.
// Measured from outside, from /proc/<init>/status and /proc/<init>/stat:
//   idle    RSS once the init has settled, before the storm
//   peak    highest RSS from the start of the storm until "after" (sampled every 20 ms)
//   after   RSS AFTER_MS once every orphan has been reaped
//   growth  peak − idle, also of RssAnon alone (heap and malloc; the rest is file-backed pages
//           such as the node binary's code, paged in as new code paths run); CPU: the init's user + system time from the storm's start to "after"
//   zombies left: the init's zombie children at "after" (must be 0)
// Needs root (a new PID namespace). Run alone: `node bench/supervisor/orphan-churn.mjs`; run.mjs
// runs it after its own sections.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const STORM = join(here, '..', '..', 'test', 'fixtures', 'orphan-storm.sh');
const UNSHARE = ['--pid', '--fork', '--mount-proc', '--kill-child'];
const SETTLE_MS = 1000;
const AFTER_MS = 3000;
const SAMPLE_MS = 20;
const EXIT_STATUS = 7;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Why the churn cannot be measured here, or undefined. */
export function churnUnavailable() {
  if (process.platform !== 'linux') return 'needs Linux';
  if (process.getuid?.() !== 0) return 'needs root for unshare --pid';
  const probe = spawnSync('unshare', [...UNSHARE, 'true'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) return `unshare ${UNSHARE.join(' ')} failed: ${probe.error?.message ?? probe.stderr.trim()}`;
  return undefined;
}

/** { rss, anon } in MB: all resident memory, and the part that is not file-backed (heap, malloc). */
function memoryMb(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'latin1');
  const field = (name) => Number(new RegExp(`${name}:\\s+([0-9]+) kB`).exec(status)?.[1] ?? NaN) / 1024;
  return { rss: field('VmRSS'), anon: field('RssAnon') };
}

/** user + system CPU seconds of `pid` (fields 14 and 15 of its stat, at 100 ticks a second). */
function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function childrenOf(pid) {
  const pids = [];
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    for (const word of readFileSync(`/proc/${pid}/task/${task}/children`, 'latin1').split(' ')) if (/^[0-9]+$/.test(word)) pids.push(Number(word));
  }
  return pids;
}

function isZombie(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat[stat.lastIndexOf(')') + 2] === 'Z';
  } catch {
    return false;
  }
}

/** `promise`, or a rejection naming `what` after `timeoutMs`. */
function within(promise, timeoutMs, what) {
  let timer;
  const timeout = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), timeoutMs)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Resolves when `predicate()` holds; rejects after `timeoutMs`. Polls: the state is in /proc, not an event. */
async function until(predicate, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await sleep(SAMPLE_MS);
  }
}

/** One init through one storm: { idle, peak, after (memoryMb), cpuS, reapMs, zombies, status }. */
async function churn(prefix, orphans, env) {
  const unshare = spawn('unshare', [...UNSHARE, ...prefix, STORM, String(orphans), String(EXIT_STATUS)], { stdio: ['pipe', 'pipe', 'ignore'], env });
  const exited = new Promise((resolve) => unshare.on('exit', (code, signal) => resolve(code ?? signal)));
  try {
    let out = '';
    const checks = new Set();
    unshare.stdout.setEncoding('utf8').on('data', (chunk) => {
      out += chunk;
      for (const check of checks) check();
    });
    /** Resolves once the storm has printed `line`. */
    const printed = (line) =>
      new Promise((resolve) => {
        const check = () => {
          if (!out.includes(`${line}\n`)) return;
          checks.delete(check);
          resolve();
        };
        checks.add(check);
        check();
      });
    await within(printed('ready'), 10_000, `${prefix[0]}: the storm never started`);
    const init = childrenOf(unshare.pid)[0];
    const [stormShell] = childrenOf(init);
    await sleep(SETTLE_MS); // past deputy's deferred start-up work (its socket, 50 ms after start)
    const idle = memoryMb(init);
    const cpuBefore = cpuSeconds(init);
    const peak = { ...idle };
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const now = memoryMb(init);
        peak.rss = Math.max(peak.rss, now.rss);
        peak.anon = Math.max(peak.anon, now.anon);
        await sleep(SAMPLE_MS);
      }
    })();
    unshare.stdin.write('go\n');
    await within(printed(`orphans made: ${orphans}`), 600_000, `${prefix[0]}: the storm never ended`);
    const madeAt = Date.now();
    // every orphan has exited and been reaped: only the storm's shell is left
    await until(() => childrenOf(init).every((pid) => pid === stormShell), 60_000, `${prefix[0]} did not reap every orphan`);
    const reapMs = Date.now() - madeAt;
    await sleep(AFTER_MS);
    sampling = false;
    await sampler;
    const after = memoryMb(init);
    const cpuS = cpuSeconds(init) - cpuBefore;
    const zombies = childrenOf(init).filter(isZombie).length;
    unshare.stdin.write('exit\n');
    const status = await within(exited, 10_000, `${prefix[0]} did not exit`);
    return { idle, peak, after, cpuS, reapMs, zombies, status };
  } finally {
    if (unshare.exitCode === null && unshare.signalCode === null) unshare.kill('SIGKILL'); // --kill-child ends the namespace
  }
}

/**
 * Runs the storm under each init ({ name, prefix }); returns the markdown table lines and the goal
 * results for 'deputy supervise'.
 */
export async function orphanChurn(inits, { orphans = Number(process.env.BENCH_ORPHANS ?? 15_000), env = process.env } = {}) {
  const fmt = (value, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : '—');
  const lines = [
    `| orphan churn (${orphans.toLocaleString('en')} orphans, init is PID 1) | idle RSS (MB) | peak RSS (MB) | RSS ${AFTER_MS / 1000} s after (MB) | growth (MB) | anonymous growth (MB) | CPU (s) | zombies left | exit status |`,
    `|---|---|---|---|---|---|---|---|---|`,
  ];
  const goals = [];
  for (const init of inits) {
    const r = await churn(init.prefix, orphans, env);
    const growth = r.peak.rss - r.idle.rss;
    const cells = [r.idle.rss, r.peak.rss, r.after.rss, growth, r.peak.anon - r.idle.anon].map((value) => fmt(value));
    lines.push(`| ${init.name} | ${cells.join(' | ')} | ${fmt(r.cpuS, 2)} | ${r.zombies} | ${r.status} |`);
    if (init.name === 'deputy supervise') {
      goals.push(
        ['orphan churn: RSS growth ≤ 10 MB', growth <= 10, `${fmt(growth)} MB`],
        [`orphan churn: RSS ${AFTER_MS / 1000} s after ≤ idle + 10 MB`, r.after.rss <= r.idle.rss + 10, `${fmt(r.after.rss - r.idle.rss)} MB over idle`],
        ['orphan churn: no zombie left, child status passed on', r.zombies === 0 && r.status === EXIT_STATUS, `${r.zombies} zombies, status ${r.status}`],
      );
    }
  }
  return { lines, goals };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const unavailable = churnUnavailable();
  if (unavailable) {
    console.error(`orphan churn not measured: ${unavailable}`);
    process.exit(1);
  }
  const found = (command) => {
    const probe = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
    return probe.status === 0 ? probe.stdout.trim() : undefined;
  };
  const inits = [{ name: 'deputy supervise', prefix: [process.execPath, join(here, '..', '..', 'bin', 'deputy.js'), 'supervise', '--'] }];
  for (const name of ['tini', 'dumb-init']) {
    const path = found(name);
    if (path) inits.push({ name, prefix: [path, '--'] });
    else console.error(`${name}: not installed (Debian package "${name}")`);
  }
  const { lines, goals } = await orphanChurn(inits, { env: { ...process.env, DEPUTY_LOG_LEVEL: 'warn' } });
  console.log(`\nk8s-deputy orphan churn — Node ${process.version}\n`);
  console.log(lines.join('\n'));
  for (const [goal, met, detail] of goals) console.log(`  ${met ? 'met ' : 'MISSED'}  ${goal} (${detail})`);
}
