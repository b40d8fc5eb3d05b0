// Benchmark: the bash shim beside tini and `deputy supervise` (when built), measured in one run.
//   start-up       `<init> true` wall time
//   RSS / PSS      of the init process while it supervises `sleep`
//   TERM→callback  SIGTERM to the init until the app's graceful-terminator callback logs
//   TERM→exit      SIGTERM to the init until the init has exited
// and shim/probe.sh wall time beside `deputy probe` (when built, else `node -e 0`) and curl.
// Goals: shim RSS ≤ 5 MB, probe.sh ≤ 10 ms. Loops are bounded; every process is ended by pid.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SHIM = join(ROOT, 'shim', 'supervise.sh');
const PROBE = join(ROOT, 'shim', 'probe.sh');
const DEPUTY = join(ROOT, 'bin', 'deputy.js');
const APP = join(ROOT, 'test', 'fixtures', 'terminator-app.js');
const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const STEP_TIMEOUT_MS = 10_000;

const which = (command) => {
  const found = spawnSync('bash', ['-c', `type -P ${command}`], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim() : undefined;
};
const hasCommand = (sub) => {
  const help = spawnSync(process.execPath, [DEPUTY, sub, '--help'], { encoding: 'utf8' });
  return help.status === 0 && help.stdout.includes(`Usage: deputy ${sub}`);
};

const inits = [{ name: 'shim/supervise.sh', argv: [SHIM] }];
const tini = which('tini');
if (tini) inits.push({ name: 'tini', argv: [tini, '-s', '--'] });
else console.error('tini is not installed: its column is left out (apt-get install tini)');
if (hasCommand('supervise')) inits.push({ name: 'deputy supervise', argv: [process.execPath, DEPUTY, 'supervise', '--'] });
else console.error('deputy supervise is not built: its column is left out');

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};

/** Starts a process; resolves `line(match)` when a stderr line contains `match`. */
function start(argv, env = {}) {
  const child = spawn(argv[0], argv.slice(1), { env: { ...process.env, ...env }, stdio: ['pipe', 'ignore', 'pipe'] });
  const seen = [];
  const waiters = [];
  let buffer = '';
  child.stderr.setEncoding('utf8').on('data', (chunk) => {
    buffer += chunk;
    let at;
    while ((at = buffer.indexOf('\n')) >= 0) {
      const text = buffer.slice(0, at);
      buffer = buffer.slice(at + 1);
      const now = performance.now();
      seen.push({ text, now });
      for (const waiter of [...waiters]) if (text.includes(waiter.match)) waiter.resolve({ now, text });
    }
  });
  const exited = new Promise((done) => child.on('exit', () => done(performance.now())));
  const line = (match) => {
    const earlier = seen.find((entry) => entry.text.includes(match));
    if (earlier) return Promise.resolve(earlier);
    return new Promise((resolveLine, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "${match}" from ${argv.join(' ')} within ${STEP_TIMEOUT_MS} ms`)), STEP_TIMEOUT_MS);
      waiters.push({ match, resolve: (entry) => (clearTimeout(timer), resolveLine(entry)) });
    });
  };
  const stop = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  return { child, line, exited, stop };
}

function memoryKb(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
  let pss = NaN;
  try {
    pss = Number(/Pss:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1]);
  } catch {
    // smaps_rollup needs Linux 4.14+
  }
  return { rss, pss };
}

async function startup(init) {
  const times = [];
  for (let i = 0; i < RUNS; i++) {
    const began = performance.now();
    const { exited } = start([...init.argv, 'true'], { DEPUTY_LOG_LEVEL: 'silent' });
    times.push((await exited) - began);
  }
  return median(times);
}

async function memory(init) {
  const run = start([...init.argv, 'sleep', '30'], { DEPUTY_LOG_LEVEL: 'silent' });
  try {
    const pid = run.child.pid;
    const deadline = Date.now() + STEP_TIMEOUT_MS;
    // Supervising means the child is running: wait (bounded) for it to appear.
    while (readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim() === '' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    await new Promise((r) => setTimeout(r, 100)); // let a Node supervisor finish its start-up work
    return memoryKb(pid);
  } finally {
    // Kill the supervised sleep by pid first (tini would otherwise leave it behind), then the init.
    const pid = run.child.pid;
    for (const child of readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(' ').filter(Boolean)) {
      try {
        process.kill(Number(child), 'SIGKILL');
      } catch {
        // already gone
      }
    }
    run.stop();
    await run.exited;
  }
}

async function termLatency(init) {
  const callbackMs = [];
  const exitMs = [];
  for (let i = 0; i < Math.min(RUNS, 10); i++) {
    const dir = mkdtempSync(join(tmpdir(), 'deputy-bench-'));
    const run = start([...init.argv, process.execPath, APP], { DEPUTY_IPC_DIR: dir, EXIT_CODE: '0', DEPUTY_LOG_LEVEL: 'info' });
    try {
      await run.line('"registered"');
      const sent = performance.now();
      run.child.kill('SIGTERM');
      callbackMs.push((await run.line('"callback ran"')).now - sent);
      exitMs.push((await run.exited) - sent);
    } finally {
      run.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return { callback: median(callbackMs), exit: median(exitMs) };
}

/**
 * Median wall time of fork + exec + run of `argv`, timed inside one bash loop so that Node's own
 * spawn cost is not counted; also the last exit status.
 */
function timeCommand(argv, env = {}) {
  const loop = `for ((i = 0; i < ${RUNS}; i++)); do s=$EPOCHREALTIME; "$@" >/dev/null 2>&1; c=$?; e=$EPOCHREALTIME; echo "\${s/,/.} \${e/,/.} $c"; done`;
  const result = spawnSync('bash', ['-c', loop, 'bench', ...argv], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000 });
  const lines = result.stdout.trim().split('\n').map((line) => line.split(' ').map(Number));
  return { ms: median(lines.map(([s, e]) => (e - s) * 1000)), status: lines.at(-1)?.[2] };
}

const rows = [];
for (const init of inits) {
  const startupMs = await startup(init);
  const { rss, pss } = await memory(init);
  const { callback, exit } = await termLatency(init);
  rows.push({ init: init.name, startupMs, rss, pss, callback, exit });
}

const f = (ms) => `${ms.toFixed(1)} ms`;
const mb = (kb) => (Number.isFinite(kb) ? `${(kb / 1024).toFixed(1)} MB` : 'n/a');
console.log(`\nEntrypoints (median of ${RUNS} runs; TERM latencies of ${Math.min(RUNS, 10)})\n`);
console.log('| entrypoint | start-up (`init true`) | RSS supervising | PSS supervising | SIGTERM → callback | SIGTERM → exit |');
console.log('|---|---|---|---|---|---|');
for (const r of rows) console.log(`| ${r.init} | ${f(r.startupMs)} | ${mb(r.rss)} | ${mb(r.pss)} | ${f(r.callback)} | ${f(r.exit)} |`);

// probe.sh beside the anchors, against one real Deputy health server.
const server = start([process.execPath, join(ROOT, 'bench', 'shim', 'server.js')]);
try {
  const { text } = await server.line('"listening"');
  const port = String(JSON.parse(text).port);
  const env = { DEPUTY_HEALTH_CHECK_PORT: port };
  const probes = [['true (fork + exec alone)', [which('true') ?? '/bin/true']], ['shim/probe.sh ready', [PROBE, 'ready', port]]];
  if (hasCommand('probe')) probes.push(['deputy probe ready', [process.execPath, DEPUTY, 'probe', 'ready']]);
  else probes.push(['node -e 0 (deputy probe is not built)', [process.execPath, '-e', '0']]);
  const curl = which('curl');
  if (curl) probes.push(['curl -fsS /readyz', [curl, '-fsS', '-o', '/dev/null', `http://127.0.0.1:${port}/readyz`]]);
  else console.error('curl is not installed: its row is left out');
  console.log(`\nExec probes against a ready Deputy (median of ${RUNS} runs, each forked from one bash loop)\n`);
  console.log('| probe | wall time | exit status |');
  console.log('|---|---|---|');
  let probeMs = NaN;
  for (const [name, argv] of probes) {
    const { ms, status } = timeCommand(argv, env);
    if (name.startsWith('shim/')) probeMs = ms;
    console.log(`| ${name} | ${f(ms)} | ${status} |`);
  }
  const shimRow = rows.find((r) => r.init === 'shim/supervise.sh');
  console.log('\nGoals');
  console.log(`  shim RSS ≤ 5 MB: ${mb(shimRow.rss)} — ${shimRow.rss <= 5 * 1024 ? 'met' : 'missed'}`);
  console.log(`  probe.sh ≤ 10 ms: ${f(probeMs)} — ${probeMs <= 10 ? 'met' : 'missed'}`);
} finally {
  server.stop();
}
