#!/usr/bin/env node
// Drain benchmark: how long after the work is done does the process take to exit?
// overhead = exit − max(SIGTERM + delay, last in-flight response), with 100 idle keep-alive
// sockets open (idle since before SIGTERM) and 10 long requests in flight. Goal ≤ 50 ms.
// Same app, same delay, in the same run, for each library (replica.js of the rolling-restart
// benchmark). Idle sockets come from a node:http Agent configured like the global agent
// (keepAlive, timeout 5 s: it then honours the Keep-Alive hint); a request that fails is counted.
//
//   npm run bench:drain -- [--runs N] [--quick] [--modes a,b]
//
// Scenarios (server keepAliveTimeout 4 s: the Agent keeps idle sockets for 4 − 1 s, so at SIGTERM
// 1.1 s after their last use they are open on both sides):
//   delay≥keep-alive  delay 4 s (in Kubernetes ours defaults to 5 s, Node's keepAliveTimeout to 5 s)
//   no delay          delay 0: our drain waits until each idle socket has been idle for its
//                     advertised timeout (by design: that is when a client stops reusing it);
//                     the peers close idle sockets at once (racing clients that send on them)
import { spawn } from 'node:child_process';
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const replicaJs = fileURLToPath(new URL('../rolling-restart/replica.js', import.meta.url));
const ALL_MODES = ['naive', 'stoppable', 'http-terminator', 'terminus', 'lightship', 'deputy'];
const SCENARIOS = {
  'delay≥keep-alive': { delayMs: 4000, keepAliveMs: 4000 },
  'no delay': { delayMs: 0, keepAliveMs: 4000 },
};
const IDLE_SOCKETS = 100;
const IN_FLIGHT = 10;

const { values: args } = parseArgs({
  options: { runs: { type: 'string' }, quick: { type: 'boolean', default: false }, modes: { type: 'string' }, scenarios: { type: 'string' } },
});
const runs = Number(args.runs ?? (args.quick ? 1 : 5));
const modes = args.modes ? args.modes.split(',') : ALL_MODES;
const scenarios = args.scenarios ? args.scenarios.split(',') : Object.keys(SCENARIOS);
for (const m of modes) if (!ALL_MODES.includes(m)) throw new Error(`unknown mode ${m}; choose from ${ALL_MODES.join(', ')}`);
for (const s of scenarios) if (!SCENARIOS[s]) throw new Error(`unknown scenario ${s}; choose from ${Object.keys(SCENARIOS).join(', ')}`);
if (!(runs >= 1 && runs <= 100)) throw new Error('--runs 1..100');

const children = new Set();
process.on('exit', () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function get(port, path, agent) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve({ ok: res.statusCode === 200, at: Date.now() }));
      res.on('error', () => resolve({ ok: false, at: Date.now() }));
    });
    req.on('error', () => resolve({ ok: false, at: Date.now() }));
  });
}

async function once(mode, scenario) {
  const { delayMs, keepAliveMs } = SCENARIOS[scenario];
  const ipcDir = mkdtempSync(join(tmpdir(), 'deputy-bench-'));
  const child = spawn(process.execPath, [replicaJs], {
    env: { ...process.env, MODE: mode, DELAY_MS: String(delayMs), KEEP_ALIVE_MS: String(keepAliveMs), DEPUTY_IPC_DIR: ipcDir, DEPUTY_LOG_LEVEL: 'warn', DEPUTY_DRAIN_QUIET: '1s' },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  children.add(child);
  const exited = new Promise((resolve) => child.on('exit', () => resolve(Date.now())));
  const { port } = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c) => {
      out += c;
      if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0]));
    });
    exited.then(() => reject(new Error(`${mode} exited before listening`)));
  });
  // 100 keep-alive sockets used once, then idle; 10 more, warmed at the same time, carry the long
  // requests (so no new connection arrives near SIGTERM: our quiet window does not extend).
  // Like Node's global agent (keepAlive, timeout 5 s), so the Keep-Alive hint applies.
  const agent = new http.Agent({ keepAlive: true, maxSockets: IDLE_SOCKETS, timeout: 5000 });
  const longAgent = new http.Agent({ keepAlive: true, maxSockets: IN_FLIGHT, timeout: 5000 });
  const warm = await Promise.all([
    ...Array.from({ length: IDLE_SOCKETS }, () => get(port, '/', agent)),
    ...Array.from({ length: IN_FLIGHT }, () => get(port, '/', longAgent)),
  ]);
  // Older than the 1 s quiet window, well inside the Agent's 3 s reuse window.
  await sleep(1100);
  const longMs = delayMs + 500;
  const inFlight = Array.from({ length: IN_FLIGHT }, () => get(port, `/slow?ms=${longMs}`, longAgent));
  await sleep(50);
  const sigtermAt = Date.now();
  child.kill('SIGTERM');
  const answers = await Promise.all(inFlight);
  const exitAt = await Promise.race([exited, sleep(30_000).then(() => null)]);
  if (exitAt === null) child.kill('SIGKILL');
  await exited;
  children.delete(child);
  agent.destroy();
  longAgent.destroy();
  rmSync(ipcDir, { recursive: true, force: true });
  const lastResponseAt = Math.max(...answers.map((a) => a.at));
  const workDoneAt = Math.max(sigtermAt + delayMs, lastResponseAt);
  return {
    mode,
    scenario,
    overheadMs: exitAt === null ? null : exitAt - workDoneAt,
    exitAfterSigtermMs: exitAt === null ? null : exitAt - sigtermAt,
    failed: answers.filter((a) => !a.ok).length + warm.filter((a) => !a.ok).length,
  };
}

const load0 = loadavg()[0];
process.stderr.write(`drain: ${runs} run(s) × ${modes.length} modes × ${scenarios.length} scenario(s), ${cpus().length} CPUs, load ${load0.toFixed(2)}\n`);
const results = [];
for (let run = 1; run <= runs; run++) {
  for (const scenario of scenarios) {
    for (const mode of modes) {
      const r = await once(mode, scenario);
      results.push(r);
      process.stderr.write(`run ${run} ${scenario.padEnd(17)} ${mode.padEnd(15)} overhead ${r.overheadMs} ms, exit ${r.exitAfterSigtermMs} ms after SIGTERM, ${r.failed} in-flight failed\n`);
    }
  }
}
const median = (xs) => {
  const s = xs.filter((x) => x !== null).sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : null;
};
const lines = [`${runs} run(s); ${IDLE_SOCKETS} idle keep-alive sockets and ${IN_FLIGHT} requests of (delay + 500 ms) in flight; load average at start ${load0.toFixed(2)} on ${cpus().length} CPUs.`, ''];
lines.push('| scenario | library | overhead median (max) | exit after SIGTERM, median | in-flight requests failed |');
lines.push('|---|---|---|---|---|');
for (const scenario of scenarios) {
  for (const mode of modes) {
    const rs = results.filter((r) => r.mode === mode && r.scenario === scenario);
    // A library that cut the in-flight requests has no meaningful overhead.
    const over = rs.filter((r) => r.failed === 0).map((r) => r.overheadMs);
    lines.push(
      `| ${scenario} | ${mode === 'deputy' ? '**k8s-deputy**' : mode} | ${over.length ? `${median(over)} ms (${Math.max(...over.filter((x) => x !== null))} ms)` : '— (cut requests)'} | ${median(rs.map((r) => r.exitAfterSigtermMs))} ms | ${rs.reduce((s, r) => s + r.failed, 0)} |`,
    );
  }
}
process.stdout.write(`${lines.join('\n')}\n`);
process.exit(0);
