// Benchmark of the metrics. Anchors measured in the same run:
//   - /healthz throughput of a Deputy with a registry (the app's, default metrics collected)
//     against a bare node:http 200 server (goal ≥ 0.9×), with wrk if installed, else autocannon;
//     /readyz with three checks with and without a registry beside it, for what counting each
//     check run costs;
//   - one GET /metrics of a Deputy with 20 checks over a kept-alive connection (goal ≤ 2 ms),
//     beside a GET /healthz of the same server over the same connection (the round trip alone,
//     which a loaded machine inflates), and the registry's in-process time for the exposition.
// Loopback only; stops by itself; every loop is bounded. Env: BENCH_SECONDS (per load run,
// default 2), BENCH_ROUNDS (default 5). Each round measures every target back to back in rotating
// order, so a round's ratio compares runs under the same background load; the median ratio is
// reported, and server CPU per request beside it (it hardly moves when other processes compete).
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { Agent, request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { loadTool, median, onServerCore, placement, throughput } from '../http-load.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const seconds = Number(process.env.BENCH_SECONDS ?? 2);
const rounds = Math.min(Number(process.env.BENCH_ROUNDS ?? 5), 20);
const percentile = (values, p) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))];

const [serversCommand, ...serversArgs] = onServerCore([process.execPath, `${here}servers.js`]);
const servers = spawn(serversCommand, serversArgs, { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, DEPUTY_LOG_LEVEL: 'silent' } });
const stopServers = () => {
  if (servers.exitCode === null && servers.signalCode === null) process.kill(servers.pid, 'SIGKILL');
};
process.on('exit', stopServers);
const lines = createInterface({ input: servers.stdout });
const nextLine = (what, timeoutMs = 10_000) =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`servers did not answer ${what} within ${timeoutMs} ms`)), timeoutMs);
    lines.once('line', (line) => {
      clearTimeout(timer);
      resolve(line);
    });
  });
const ports = JSON.parse(await nextLine('their ports'));
async function ask(command, what) {
  const answer = nextLine(what, 60_000);
  servers.stdin.write(`${command}\n`);
  return answer;
}


const targets = [
  ['bare node:http 200', `http://127.0.0.1:${ports.bare}/`],
  ['Deputy /healthz, with a registry', `http://127.0.0.1:${ports.withRegistry}/healthz`],
  ['Deputy /healthz, no registry', `http://127.0.0.1:${ports.withoutRegistry}/healthz`],
  ['Deputy /readyz (three checks), with a registry', `http://127.0.0.1:${ports.withRegistry}/readyz`],
  ['Deputy /readyz (three checks), no registry', `http://127.0.0.1:${ports.withoutRegistry}/readyz`],
];
const samples = targets.map(() => []);
const cpuPerRequest = targets.map(() => []);
for (let round = 0; round < rounds; round += 1) {
  for (let k = 0; k < targets.length; k += 1) {
    const index = (round + k) % targets.length;
    const cpuBefore = Number(await ask('cpu', 'cpu'));
    const { rps, requests } = await throughput(targets[index][1], seconds);
    const cpuAfter = Number(await ask('cpu', 'cpu'));
    samples[index].push(rps);
    cpuPerRequest[index].push((cpuAfter - cpuBefore) / requests);
  }
}
const rps = samples.map(median);
const cpuUs = cpuPerRequest.map(median);
const ratio = (index, anchor) => median(samples[index].map((value, round) => value / samples[anchor][round]));

// Scrapes, one at a time over one kept-alive connection, as Prometheus does.
const agent = new Agent({ keepAlive: true, maxSockets: 1 });
function scrape(path = '/metrics') {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = request({ host: '127.0.0.1', port: ports.scrape, path, agent }, (res) => {
      let bytes = 0;
      res.on('data', (chunk) => (bytes += chunk.length));
      res.on('end', () => (res.statusCode === 200 ? resolve({ ms: performance.now() - started, bytes }) : reject(new Error(`${path} answered ${res.statusCode}`))));
    });
    req.setTimeout(5000, () => req.destroy(new Error('no answer within 5 s')));
    req.on('error', reject);
    req.end();
  });
}
for (let i = 0; i < 50; i += 1) await scrape(); // warm-up: JIT, the connection
const scrapeMs = [];
const roundTripMs = [];
let scrapeBytes = 0;
for (let i = 0; i < 500; i += 1) {
  // Interleaved, so that background load hits both alike.
  const { ms, bytes } = await scrape();
  scrapeMs.push(ms);
  scrapeBytes = bytes;
  roundTripMs.push((await scrape('/healthz')).ms);
}
agent.destroy();
const inProcess = JSON.parse(await ask('scrape 500', 'scrape'));
stopServers();


const fmt = (n) => Math.round(n).toLocaleString('en-US');
const rows = [
  ['measure', 'result', 'anchor', 'ratio', 'goal'],
  ['---', '---:', '---:', '---:', '---'],
  [`${targets[0][0]} (req/s, median)`, fmt(rps[0]), '—', '1.00×', 'anchor'],
  [`${targets[1][0]} (req/s, median)`, fmt(rps[1]), fmt(rps[0]), `${ratio(1, 0).toFixed(2)}×`, '≥ 0.90×'],
  [`${targets[1][0]}, server CPU per request`, `${cpuUs[1].toFixed(1)} µs`, `${cpuUs[0].toFixed(1)} µs`, `capacity ${(cpuUs[0] / cpuUs[1]).toFixed(2)}×`, '≥ 0.90×'],
  [`Deputy /healthz: with a registry against none (req/s, median)`, fmt(rps[1]), fmt(rps[2]), `${ratio(1, 2).toFixed(2)}×`, '(context)'],
  [`${targets[3][0]} (req/s, median)`, fmt(rps[3]), `no registry: ${fmt(rps[4])}`, `${ratio(3, 4).toFixed(2)}×`, '(context)'],
  [`${targets[3][0]}, server CPU per request`, `${cpuUs[3].toFixed(1)} µs`, `no registry: ${cpuUs[4].toFixed(1)} µs`, `${cpuUs[3] >= cpuUs[4] ? '+' : ''}${(cpuUs[3] - cpuUs[4]).toFixed(1)} µs`, '(context)'],
  [
    `GET /metrics, 20 checks (${fmt(scrapeBytes)} bytes), 500 scrapes: median; p99`,
    `${median(scrapeMs).toFixed(2)} ms; ${percentile(scrapeMs, 0.99).toFixed(2)} ms`,
    `GET /healthz: ${median(roundTripMs).toFixed(2)} ms; ${percentile(roundTripMs, 0.99).toFixed(2)} ms`,
    `+${(median(scrapeMs) - median(roundTripMs)).toFixed(2)} ms`,
    '≤ 2 ms',
  ],
  ['the same exposition in process, registry.metrics(): median; max', `${inProcess.median.toFixed(2)} ms; ${inProcess.max.toFixed(2)} ms`, '—', '—', '(context)'],
];
console.log(`\nMetrics benchmark — ${loadTool()} (${placement()}), ${seconds} s × ${rounds} rounds; prom-client registry; Node ${process.version}\n`);
for (const row of rows) console.log(`| ${row.join(' | ')} |`);
