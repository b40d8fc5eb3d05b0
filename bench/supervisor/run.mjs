#!/usr/bin/env node
// Benchmark of `deputy supervise` against tini, dumb-init and bare Node, measured in one run:
//   start-up   wall time of `<init> /bin/true` (bare Node: `node -e 0`; the floor: a CommonJS
//              script that only spawns /bin/true, spawn-floor.cjs — what any Node init costs)
//   RSS        resident memory of the init while it supervises `sleep` (bare Node: an idle node)
//   latency    SIGTERM to the init → the app's termination callback runs (p50, p99)
//   orphan churn  memory and CPU of each init as a real PID 1 through a storm of short-lived
//              orphans (orphan-churn.mjs; needs root for unshare --pid, else not measured)
// Runs as a plain child (not PID 1) except the orphan churn, installs nothing, and says what is missing.
// Environment: BENCH_RUNS (latency runs per init, default 100), BENCH_STARTS (default 60),
// BENCH_ORPHANS (default 15000; 0 skips the orphan churn).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { churnUnavailable, orphanChurn } from './orphan-churn.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const DEPUTY = join(here, '..', '..', 'bin', 'deputy.js');
const APP = join(here, 'app.mjs');
const NODE = process.execPath;
const LATENCY_RUNS = Number(process.env.BENCH_RUNS ?? 100);
const STARTS = Number(process.env.BENCH_STARTS ?? 60);
const STEP_TIMEOUT_MS = 10_000;

const missing = [];
function found(command) {
  const probe = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
  if (probe.status === 0) return probe.stdout.trim();
  missing.push(`${command}: not installed (Debian package "${command}")`);
  return undefined;
}
try {
  readFileSync(join(here, '..', '..', 'dist', 'supervisor/supervision.js'));
} catch {
  console.error('dist/ is missing: run npm run build first');
  process.exit(1);
}

const ipcDir = mkdtempSync(join(tmpdir(), 'deputy-bench-'));
process.on('exit', () => rmSync(ipcDir, { recursive: true, force: true }));
const env = { ...process.env, DEPUTY_IPC_DIR: ipcDir, DEPUTY_LOG_LEVEL: 'warn' };

/** The inits: a prefix to put before the supervised command; bare Node has none. */
const inits = [];
const tini = found('tini');
const dumbInit = found('dumb-init');
inits.push({ name: 'deputy supervise', prefix: [NODE, DEPUTY, 'supervise', '--'] });
if (tini) inits.push({ name: 'tini', prefix: [tini, '-s', '--'] });
if (dumbInit) inits.push({ name: 'dumb-init', prefix: [dumbInit, '--'] });
const BARE = 'node (bare, no init)';
const FLOOR = 'node spawning /bin/true (the floor)';

/** A small seeded generator (mulberry32): the same data give the same interval. */
function seeded(seed) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
/**
 * The median of the differences within rounds, with a 95 % bootstrap interval: on a machine whose
 * speed wanders, a difference of two medians taken over different moments is mostly noise.
 */
function pairedMedian(values, baseline, random) {
  const differences = values.map((value, i) => value - baseline[i]);
  const resampled = [];
  for (let i = 0; i < 2000; i += 1) resampled.push(quantile(differences.map(() => differences[Math.floor(random() * differences.length)]), 0.5));
  return { median: quantile(differences, 0.5), low: quantile(resampled, 0.025), high: quantile(resampled, 0.975) };
}

const quantile = (values, q) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
};
const ms = (ns) => Number(ns) / 1e6;

function run(argv) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(argv[0], argv.slice(1), { stdio: 'ignore', env });
    const timer = setTimeout(() => reject(new Error(`${argv.join(' ')} did not exit`)), STEP_TIMEOUT_MS);
    child.on('error', reject);
    child.on('exit', () => {
      clearTimeout(timer);
      resolve(ms(process.hrtime.bigint() - started));
    });
  });
}

/** Starts argv; resolves when its stdout printed `line`, with the child and its later lines. */
function startUntil(argv, line) {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'ignore'], env, detached: false });
    const lines = [];
    const waiters = [];
    let buffer = '';
    let ready = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${argv.join(' ')} never printed ${line}`));
    }, STEP_TIMEOUT_MS);
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      buffer += chunk;
      let newline;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const text = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        if (!ready && text === line) {
          ready = true;
          clearTimeout(timer);
          resolve({ child, nextLine: () => (lines.length ? Promise.resolve(lines.shift()) : new Promise((r) => waiters.push(r))) });
        } else if (ready) {
          const waiter = waiters.shift();
          if (waiter) waiter(text);
          else lines.push(text);
        }
      }
    });
    child.on('error', reject);
  });
}

const exited = (child) => new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.on('exit', resolve)));

function rssMb(pid) {
  const match = /VmRSS:\s+([0-9]+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : NaN;
}

function childrenOf(pid) {
  const pids = [];
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    for (const word of readFileSync(`/proc/${pid}/task/${task}/children`, 'latin1').split(' ')) if (/^[0-9]+$/.test(word)) pids.push(Number(word));
  }
  return pids;
}

const results = new Map(); // name → { startMs, rssMb, p50, p99 }
const row = (name) => {
  if (!results.has(name)) results.set(name, {});
  return results.get(name);
};

// 1. start-up (round -1 warms the page cache and is not counted). Each round runs every command
//    once, in a new random order, so that a slow spell of the machine lands on all of them and
//    no command always follows the same one; the goal is judged on the differences within rounds.
const random = seeded(0x5eed);
const startCommands = [
  ...inits.map((init) => [init.name, [...init.prefix, '/bin/true']]),
  [BARE, [NODE, '-e', '0']],
  [FLOOR, [NODE, join(here, 'spawn-floor.cjs'), '/bin/true']],
];
for (const [name] of startCommands) row(name); // the table keeps this order
for (let round = -1; round < STARTS; round += 1) {
  const order = startCommands.map((command) => [random(), command]).sort((a, b) => a[0] - b[0]);
  for (const [, [name, argv]] of order) {
    const took = await run(argv);
    if (round >= 0) (row(name).starts ??= []).push(took);
  }
}

// 2. RSS while supervising a sleeping child (read once the init has settled: its child runs,
//    and deputy has bound its socket, which it does 50 ms after start)
for (const init of inits) {
  const samples = [];
  for (let round = 0; round < 5; round += 1) {
    const { child } = await startUntil([...init.prefix, 'sh', '-c', 'echo ready; exec sleep 1000'], 'ready');
    await new Promise((resolve) => setTimeout(resolve, 200));
    samples.push(rssMb(child.pid));
    for (const pid of childrenOf(child.pid)) process.kill(pid, 'SIGKILL');
    child.kill('SIGKILL');
    await exited(child);
  }
  row(init.name).rssMb = quantile(samples, 0.5);
}
{
  const samples = [];
  for (let round = 0; round < 5; round += 1) {
    const { child } = await startUntil([NODE, '-e', 'console.log("ready"); setInterval(() => {}, 1 << 30)'], 'ready');
    await new Promise((resolve) => setTimeout(resolve, 200));
    samples.push(rssMb(child.pid));
    child.kill('SIGKILL');
    await exited(child);
  }
  row(BARE).rssMb = quantile(samples, 0.5);
}

// 3. SIGTERM → callback latency
async function latency(argv, mode, terminated) {
  const samples = [];
  // round -1 warms the page cache and is not counted
  for (let round = -1; round < LATENCY_RUNS; round += 1) {
    const { child, nextLine } = await startUntil(argv, 'ready');
    if (mode === 'deputy') await new Promise((resolve) => setTimeout(resolve, 60)); // past the supervisor's socket warm-up
    const sent = process.hrtime.bigint();
    process.kill(child.pid, 'SIGTERM');
    const line = await Promise.race([nextLine(), new Promise((_, reject) => setTimeout(() => reject(new Error(`${terminated}: no callback`)), STEP_TIMEOUT_MS))]);
    if (round >= 0) samples.push(ms(BigInt(line) - sent));
    await exited(child);
  }
  return samples;
}
for (const init of inits) {
  const mode = init.name === 'deputy supervise' ? 'deputy' : 'signal';
  const samples = await latency([...init.prefix, NODE, APP], mode, init.name);
  Object.assign(row(init.name), { p50: quantile(samples, 0.5), p99: quantile(samples, 0.99) });
}
{
  const samples = await latency([NODE, APP], 'signal', BARE);
  Object.assign(row(BARE), { p50: quantile(samples, 0.5), p99: quantile(samples, 0.99) });
}

// 4. orphan churn, as a real PID 1
const orphans = Number(process.env.BENCH_ORPHANS ?? 15_000);
const churnSkipped = orphans > 0 ? churnUnavailable() : 'BENCH_ORPHANS=0';
const churn = churnSkipped ? undefined : await orphanChurn(inits, { orphans, env });
if (churnSkipped) missing.push(`orphan churn: ${churnSkipped}`);

// the tables
const bare = results.get(BARE);
const bareStart = quantile(bare.starts, 0.5);
const fmt = (value, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : '—');
const lines = [
  `| | start-up p50 (ms) | RSS supervising (MB) | SIGTERM → callback p50 (ms) | p99 (ms) |`,
  `|---|---|---|---|---|`,
];
for (const [name, r] of results) {
  lines.push(`| ${name} | ${fmt(quantile(r.starts, 0.5))} | ${fmt(r.rssMb)} | ${fmt(r.p50, 2)} | ${fmt(r.p99, 2)} |`);
}
const deputy = results.get('deputy supervise');
const over = pairedMedian(deputy.starts, bare.starts, random);
const floorOver = pairedMedian(results.get(FLOOR).starts, bare.starts, random);
const overFloor = pairedMedian(deputy.starts, results.get(FLOOR).starts, random);
const interval = ({ median, low, high }) => `${fmt(median)} ms [95 %: ${fmt(low)}–${fmt(high)}]`;
const goals = [
  [
    'start-up ≤ node -e 0 + 20 ms',
    // Met or missed only when the whole interval says so.
    over.high <= 20 ? true : over.low > 20 ? false : undefined,
    `${interval(over)} over, within rounds; the floor ${interval(floorOver)} over; deputy over the floor ${interval(overFloor)}`,
  ],
  ['RSS ≤ bare node + 5 MB', deputy.rssMb <= bare.rssMb + 5, `${fmt(deputy.rssMb - bare.rssMb)} MB over`],
  ['callback p99 ≤ 5 ms', deputy.p99 <= 5, `${fmt(deputy.p99, 2)} ms`],
  ...(churn?.goals ?? []),
];
console.log(`\nk8s-deputy supervisor benchmark — ${STARTS} start-ups, ${LATENCY_RUNS} terminations per init, Node ${process.version}, not PID 1 (but for the orphan churn)\n`);
console.log(lines.join('\n'));
if (churn) console.log(`\n${churn.lines.join('\n')}`);
console.log('\nGoals for deputy supervise:');
const verdict = (met) => (met === undefined ? 'UNSURE' : met ? 'met ' : 'MISSED');
for (const [goal, met, detail] of goals) console.log(`  ${verdict(met)}  ${goal} (${detail})`);
if (missing.length > 0) console.log(`\nNot measured:\n  ${missing.join('\n  ')}`);
