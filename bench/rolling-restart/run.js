#!/usr/bin/env node
// Rolling-restart benchmark: replicas of an app behind a kube-proxy-like L4 balancer, keep-alive
// load from undici, node:http Agent and autocannon; mid-load one replica is replaced the
// Kubernetes way (a new replica becomes ready, then SIGTERM to the old one). Every failed request
// is counted. The same harness runs, in the same run, against a naive server and the peers.
//
//   npm run bench:rolling-restart -- [--runs N] [--duration S] [--quick] [--modes a,b] [--scenarios a,b]
//
// Scenarios (delay = the pre-shutdown delay every library is given; ours: drainDelayMs):
//   lag<delay  endpoint removal lags 0–1.5 s behind readiness failure; delay 3 s
//   lag>delay  removal lags 2–3 s; delay 1 s (our quiet window has to cover the rest)
// Readiness is probed every 500 ms, failure threshold 2. Loopback only; everything it starts
// it stops (children by pid); each phase is bounded.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Balancer } from './balancer.js';
import { startLoad } from './clients.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const ALL_MODES = ['naive', 'stoppable', 'http-terminator', 'terminus', 'lightship', 'deputy'];
const SCENARIOS = {
  'lag<delay': { delayMs: 3000, lagMinMs: 0, lagMaxMs: 1500 },
  'lag>delay': { delayMs: 1000, lagMinMs: 2000, lagMaxMs: 3000 },
};

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string' },
    duration: { type: 'string' },
    quick: { type: 'boolean', default: false },
    modes: { type: 'string' },
    scenarios: { type: 'string' },
    connections: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});
const runs = Number(args.runs ?? (args.quick ? 1 : 10));
const durationMs = 1000 * Number(args.duration ?? (args.quick ? 5 : 15));
const connections = Number(args.connections ?? 8);
const modes = args.modes ? args.modes.split(',') : ALL_MODES;
const scenarios = args.scenarios ? args.scenarios.split(',') : Object.keys(SCENARIOS);
for (const m of modes) if (!ALL_MODES.includes(m)) throw new Error(`unknown mode ${m}; choose from ${ALL_MODES.join(', ')}`);
for (const s of scenarios) if (!SCENARIOS[s]) throw new Error(`unknown scenario ${s}; choose from ${Object.keys(SCENARIOS).join(', ')}`);
if (!(runs >= 1 && runs <= 100) || !(durationMs >= 2000 && durationMs <= 600_000)) throw new Error('--runs 1..100, --duration 2..600 (seconds)');

const children = new Set();
process.on('exit', () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts one replica; resolves once it announced its ports. */
function startReplica(mode, delayMs) {
  const ipcDir = mkdtempSync(join(tmpdir(), 'deputy-bench-'));
  const child = spawn(process.execPath, [join(here, 'replica.js')], {
    env: { ...process.env, MODE: mode, DELAY_MS: String(delayMs), DEPUTY_IPC_DIR: ipcDir, DEPUTY_LOG_LEVEL: 'warn', DEPUTY_DRAIN_QUIET: '1s' },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  children.add(child);
  const exited = new Promise((resolve) =>
    child.on('exit', (code, signal) => {
      children.delete(child);
      rmSync(ipcDir, { recursive: true, force: true });
      resolve({ code, signal, at: Date.now() });
    }),
  );
  const announced = new Promise((resolve, reject) => {
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      out += chunk;
      const line = out.split('\n')[0];
      if (out.includes('\n')) resolve(JSON.parse(line));
    });
    exited.then(() => reject(new Error(`replica ${mode} exited before listening`)));
    setTimeout(() => reject(new Error(`replica ${mode} did not start within 15 s`)), 15_000).unref();
  });
  return { child, exited, announced };
}

/** One rolling restart of one mode; returns counts and the replacement time. */
async function once(mode, scenario) {
  const { delayMs, lagMinMs, lagMaxMs } = SCENARIOS[scenario];
  const balancer = new Balancer({ periodMs: 500, failureThreshold: 2, lagMinMs, lagMaxMs });
  const port = await balancer.listen();
  const replicas = [startReplica(mode, delayMs), startReplica(mode, delayMs)];
  const endpoints = await Promise.all(replicas.map((r) => r.announced));
  endpoints.forEach((e, i) => balancer.add(i, e));
  for (let i = 0; i < replicas.length; i++) await balancer.waitInRotation(i);

  const started = Date.now();
  const stopLoad = startLoad(port, { connections });
  await sleep(durationMs * 0.3);
  // Rolling update: the new replica first, then the old one is terminated.
  const fresh = startReplica(mode, delayMs);
  balancer.add(2, await fresh.announced);
  await balancer.waitInRotation(2);
  const old = replicas[0];
  const sigtermAt = Date.now();
  old.child.kill('SIGTERM');
  const gone = await Promise.race([old.exited, sleep(40_000).then(() => undefined)]);
  balancer.forget(0);
  const endAt = Math.max(started + durationMs, Date.now() + 1000);
  await sleep(endAt - Date.now());
  const counts = await stopLoad();
  const elapsedMs = Date.now() - started;
  for (const r of [...replicas, fresh]) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
  await Promise.all([...replicas, fresh].map((r) => r.exited));
  await balancer.close();
  const requests = Object.values(counts).reduce((s, c) => s + c.requests, 0);
  const failed = Object.values(counts).reduce((s, c) => s + c.failed, 0);
  return {
    mode,
    scenario,
    requests,
    failed,
    counts,
    replacementMs: gone ? gone.at - sigtermAt : null,
    exit: gone ? (gone.code ?? gone.signal) : 'hung',
    elapsedMs,
  };
}

const median = (xs) => {
  const s = xs.filter((x) => x !== null).sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : null;
};

const results = [];
const benchStarted = Date.now();
const load0 = loadavg()[0];
process.stderr.write(`rolling-restart: ${runs} run(s) × ${durationMs / 1000} s × ${modes.length} modes × ${scenarios.length} scenario(s), ${connections} connections per client kind, ${cpus().length} CPUs, load ${load0.toFixed(2)}\n`);
for (let run = 1; run <= runs; run++) {
  for (const scenario of scenarios) {
    for (const mode of modes) {
      const r = await once(mode, scenario);
      r.run = run;
      results.push(r);
      const reasons = Object.entries(r.counts)
        .filter(([, c]) => c.failed)
        .map(([k, c]) => `${k}: ${Object.entries(c.reasons).map(([why, n]) => `${why}×${n}`).join(' ')}`)
        .join('; ');
      process.stderr.write(`run ${run} ${scenario.padEnd(9)} ${mode.padEnd(15)} ${String(r.failed).padStart(5)} failed of ${r.requests} requests; replaced in ${r.replacementMs} ms (exit ${r.exit})${reasons ? ` — ${reasons}` : ''}\n`);
    }
  }
}

const lines = [];
lines.push(`${runs} run(s) of ${durationMs / 1000} s per library and scenario; load average at start ${load0.toFixed(2)} on ${cpus().length} CPUs; total ${Math.round((Date.now() - benchStarted) / 1000)} s.`);
lines.push('');
lines.push('| scenario | library | failed per run | requests per run (min) | failed: undici / Agent / autocannon / new-conn | replacement, median (max) | exit |');
lines.push('|---|---|---|---|---|---|---|');
for (const scenario of scenarios) {
  for (const mode of modes) {
    const rs = results.filter((r) => r.mode === mode && r.scenario === scenario);
    const by = (k) => rs.reduce((s, r) => s + r.counts[k].failed, 0);
    const repl = rs.map((r) => r.replacementMs);
    const exits = [...new Set(rs.map((r) => String(r.exit)))].join(', ');
    lines.push(
      `| ${scenario} | ${mode === 'deputy' ? '**k8s-deputy**' : mode} | ${rs.map((r) => r.failed).join(', ')} | ${Math.min(...rs.map((r) => r.requests))} | ${by('undici')} / ${by('agent')} / ${by('autocannon')} / ${by('new-conn')} | ${median(repl)} ms (${Math.max(...repl.filter((x) => x !== null))} ms) | ${exits} |`,
    );
  }
}
process.stdout.write(`${lines.join('\n')}\n`);
if (args.json) process.stdout.write(`${JSON.stringify(results)}\n`);
process.exit(0);
