// Benchmark of the load checks (eventLoopCheck, memoryCheck). Two measures:
//   - idle cost: two idle apps side by side, one with eventLoopCheck (its delay monitor and
//     window timer run all the time) and one without; the CPU time each uses over
//     BENCH_IDLE_SECONDS (default 20), as a share of one core (goal: ≤ 1 % more);
//   - probe cost: /readyz with both checks against a bare node:http 200 server in the same
//     process, server CPU per request (goal: capacity ≥ 0.9×), with wrk if installed, else
//     autocannon, BENCH_ROUNDS (default 5) rounds of BENCH_SECONDS (default 2).
// Loopback only; stops by itself; every loop is bounded.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { loadTool, median, onServerCore, placement, throughput } from '../http-load.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const idleSeconds = Number(process.env.BENCH_IDLE_SECONDS ?? 20);
const seconds = Number(process.env.BENCH_SECONDS ?? 2);
const rounds = Math.min(Number(process.env.BENCH_ROUNDS ?? 5), 20);

const started = [];
process.on('exit', () => {
  for (const child of started) if (child.exitCode === null && child.signalCode === null) process.kill(child.pid, 'SIGKILL');
});

/** Starts app.js; resolves with its ports and a function asking for its CPU time (µs). */
async function startApp(loadChecks) {
  const [command, ...args] = onServerCore([process.execPath, join(here, 'app.js')]);
  const child = spawn(command, args, {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, DEPUTY_LOG_LEVEL: 'silent', LOAD_CHECKS: loadChecks ? '1' : '0' },
  });
  started.push(child);
  const lines = createInterface({ input: child.stdout });
  const next = (what) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`app did not answer ${what} within 10 s`)), 10_000);
      lines.once('line', (line) => {
        clearTimeout(timer);
        resolve(line);
      });
    });
  const ports = JSON.parse(await next('its ports'));
  const cpuUs = async () => {
    const answer = next('cpu');
    child.stdin.write('cpu\n');
    return Number(await answer);
  };
  return { ports, cpuUs };
}


// Idle: both apps at once, so that background load hits them alike.
const plain = await startApp(false);
const checked = await startApp(true);
const before = [await plain.cpuUs(), await checked.cpuUs()];
const idleStarted = performance.now();
await new Promise((resolve) => setTimeout(resolve, idleSeconds * 1000));
const wallUs = (performance.now() - idleStarted) * 1000;
const after = [await plain.cpuUs(), await checked.cpuUs()];
const share = (index) => (100 * (after[index] - before[index])) / wallUs;

// Probe cost: CPU per request, bare and /readyz (both checks) in the same process, alternating.
const targets = [`http://127.0.0.1:${checked.ports.bare}/`, `http://127.0.0.1:${checked.ports.health}/readyz`];
const perRequest = [[], []];
for (let round = 0; round < rounds; round += 1) {
  for (let k = 0; k < 2; k += 1) {
    const index = (round + k) % 2;
    const cpuBefore = await checked.cpuUs();
    const { requests } = await throughput(targets[index], seconds);
    perRequest[index].push(((await checked.cpuUs()) - cpuBefore) / requests);
  }
}
const cpu = perRequest.map(median);

const rows = [
  ['measure', 'result', 'anchor', 'delta / ratio', 'goal'],
  ['---', '---:', '---:', '---:', '---'],
  [`idle app with eventLoopCheck, CPU over ${idleSeconds} s`, `${share(1).toFixed(2)} % of a core`, `without: ${share(0).toFixed(2)} %`, `+${(share(1) - share(0)).toFixed(2)} %`, '≤ +1 %'],
  ['/readyz (eventLoopCheck + memoryCheck), server CPU per request (median)', `${cpu[1].toFixed(1)} µs`, `bare node:http: ${cpu[0].toFixed(1)} µs`, `capacity ${(cpu[0] / cpu[1]).toFixed(2)}×`, '≥ 0.90×'],
];
console.log(`\nLoad checks benchmark — ${loadTool()} (${placement()}), ${seconds} s × ${rounds} rounds; Node ${process.version}\n`);
for (const row of rows) console.log(`| ${row.join(' | ')} |`);
process.exit(0);
