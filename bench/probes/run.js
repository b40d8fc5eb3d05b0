// Benchmark of the probes. Anchors measured in the same run:
//   - /healthz and /readyz (three checks) throughput against a bare node:http 200 server
//     (goal ≥ 0.9×), with wrk if installed, else autocannon;
//   - how late /readyz answers when a check hangs (goal ≤ timeout + 50 ms);
//   - `deputy probe --live` wall time against `node -e 0` (goal ≤ +30 ms), the two interleaved.
// Loopback only; stops by itself; every loop is bounded. Env: BENCH_SECONDS (per load run, default 3),
// BENCH_ROUNDS (default 5). Each round measures the three servers back to back (in rotating order),
// so the ratio of a round compares runs under the same background load; the median ratio is
// reported, with each target's best round (the run least disturbed by other load) beside it.
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadTool, median, onServerCore, placement, throughput } from '../http-load.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const deputyBin = fileURLToPath(new URL('../../bin/deputy.js', import.meta.url));
const seconds = Number(process.env.BENCH_SECONDS ?? 2);
const rounds = Math.min(Number(process.env.BENCH_ROUNDS ?? 5), 20);


// Start the servers and read their ports.
const [serversCommand, ...serversArgs] = onServerCore([process.execPath, join(here, 'servers.js')]);
const servers = spawn(serversCommand, serversArgs, { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, DEPUTY_LOG_LEVEL: 'silent' } });
const stopServers = () => {
  if (servers.exitCode === null && servers.signalCode === null) process.kill(servers.pid, 'SIGKILL');
};
process.on('exit', stopServers);
const lines = createInterface({ input: servers.stdout });
const nextLine = (what) =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`servers did not answer ${what} within 10 s`)), 10_000);
    lines.once('line', (line) => {
      clearTimeout(timer);
      resolve(line);
    });
  });
servers.once('exit', (code) => {
  if (code !== null && code !== 0) console.error(`servers exited with ${code}`);
});
const ports = JSON.parse(await nextLine('their ports'));
/** CPU time (user + system, µs) the server process has used so far. */
async function serverCpuUs() {
  const answer = nextLine('cpu');
  servers.stdin.write('cpu\n');
  return Number(await answer);
}


const targets = [
  ['bare node:http 200', `http://127.0.0.1:${ports.bare}/`],
  ['Deputy /healthz (no checks)', `http://127.0.0.1:${ports.health}/healthz`],
  ['Deputy /readyz (three checks)', `http://127.0.0.1:${ports.health}/readyz`],
];
const samples = targets.map(() => []);
// Server CPU per answered request: throughput on a quiet machine is its inverse, and unlike req/s
// it hardly moves when other processes compete for the cores.
const cpuPerRequest = targets.map(() => []);
for (let round = 0; round < rounds; round += 1) {
  // Interleaved, in rotating order, so that background load hits every target alike.
  for (let k = 0; k < targets.length; k += 1) {
    const index = (round + k) % targets.length;
    const cpuBefore = await serverCpuUs();
    const { rps, requests } = await throughput(targets[index][1], seconds);
    const cpuAfter = await serverCpuUs();
    samples[index].push(rps);
    cpuPerRequest[index].push((cpuAfter - cpuBefore) / requests);
  }
}
const cpuUs = cpuPerRequest.map(median);
const rps = samples.map(median);
const best = samples.map((values) => Math.max(...values));
const ratio = (index) => median(samples[index].map((value, round) => value / samples[0][round]));

function timedGet(port, path) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ ms: performance.now() - started, status: res.statusCode }));
    });
    req.setTimeout(5000, () => req.destroy(new Error('no answer within 5 s')));
    req.on('error', reject);
    req.end();
  });
}
const lateness = [];
for (let i = 0; i < 20; i += 1) {
  const { ms, status } = await timedGet(ports.hung, '/readyz');
  if (status !== 503) throw new Error(`hung check answered ${status}, expected 503`);
  lateness.push(ms - ports.hungTimeoutMs);
}

// deputy probe wall time vs node -e 0, interleaved (one of each per round, so drift in the
// machine's load hits both alike), with the children's CPU time from /proc/self/stat.
/** CPU time (user + system, ms) of this process's waited-for children so far (Linux). */
function childrenCpuMs() {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' '); // the name may contain ') '
  // cutime and cstime are fields 16 and 17 of stat, in clock ticks (USER_HZ: 100 per second on Linux).
  return ((Number(fields[13]) + Number(fields[14])) * 1000) / 100;
}
const probeCommand = [process.execPath, deputyBin, 'probe', '--live', '--port', String(ports.health)];
const STARTS = 40;
const wall = [[], []];
const cpu = [0, 0];
for (let round = -3; round < STARTS; round += 1) {
  for (const [index, argv] of [[process.execPath, '-e', '0'], probeCommand].entries()) {
    const cpuBefore = childrenCpuMs();
    const started = performance.now();
    const result = spawnSync(argv[0], argv.slice(1), { timeout: 10_000 });
    const took = performance.now() - started;
    if (result.status !== 0) throw new Error(`${argv.join(' ')} exited ${result.status}`);
    if (round < 0) continue; // warm-up
    wall[index].push(took);
    cpu[index] += childrenCpuMs() - cpuBefore;
  }
}
const tool = `${STARTS} interleaved spawns`;
const [nodeMs, probeMs] = wall.map(median);
const [nodeCpuMs, probeCpuMs] = cpu.map((total) => total / STARTS);
stopServers();


const fmt = (n) => Math.round(n).toLocaleString('en-US');
const rows = [
  ['measure', 'result', 'anchor', 'ratio / delta', 'goal'],
  ['---', '---:', '---:', '---:', '---'],
  [`${targets[0][0]} (req/s, median; best)`, `${fmt(rps[0])}; ${fmt(best[0])}`, '—', '1.00×', 'anchor'],
  [`${targets[1][0]} (req/s, median; best)`, `${fmt(rps[1])}; ${fmt(best[1])}`, `${fmt(rps[0])}; ${fmt(best[0])}`, `${ratio(1).toFixed(2)}× (best ${(best[1] / best[0]).toFixed(2)}×)`, '≥ 0.90×'],
  [`${targets[2][0]} (req/s, median; best)`, `${fmt(rps[2])}; ${fmt(best[2])}`, `${fmt(rps[0])}; ${fmt(best[0])}`, `${ratio(2).toFixed(2)}× (best ${(best[2] / best[0]).toFixed(2)}×)`, '≥ 0.90×'],
  ['bare node:http 200, server CPU per request (median)', `${cpuUs[0].toFixed(1)} µs`, '—', '1.00×', 'anchor'],
  ['Deputy /healthz, server CPU per request (median)', `${cpuUs[1].toFixed(1)} µs`, `${cpuUs[0].toFixed(1)} µs`, `capacity ${(cpuUs[0] / cpuUs[1]).toFixed(2)}×`, '≥ 0.90×'],
  ['Deputy /readyz (three checks), server CPU per request (median)', `${cpuUs[2].toFixed(1)} µs`, `${cpuUs[0].toFixed(1)} µs`, `capacity ${(cpuUs[0] / cpuUs[2]).toFixed(2)}×`, '≥ 0.90×'],
  ['/readyz with a hung check, answer after its 100 ms timeout (max of 20)', `+${Math.max(...lateness).toFixed(1)} ms`, '100 ms', `median +${median(lateness).toFixed(1)} ms`, '≤ +50 ms'],
  ['`deputy probe --live` wall time (median)', `${probeMs.toFixed(1)} ms`, `node -e 0: ${nodeMs.toFixed(1)} ms`, `+${(probeMs - nodeMs).toFixed(1)} ms`, '≤ +30 ms'],
];
rows.push(['`deputy probe --live` CPU time, user + system (mean)', `${probeCpuMs.toFixed(1)} ms`, `node -e 0: ${nodeCpuMs.toFixed(1)} ms`, `+${(probeCpuMs - nodeCpuMs).toFixed(1)} ms`, '(context)']);
console.log(`\nProbes benchmark — ${loadTool()} (${placement()}), ${seconds} s × ${rounds} rounds, ${tool} for start-up; Node ${process.version}\n`);
for (const row of rows) console.log(`| ${row.join(' | ')} |`);
