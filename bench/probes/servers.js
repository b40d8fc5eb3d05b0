// The servers under load, in their own process so the load generator does not share their event
// loop: a bare node:http server answering 200 (the anchor), and a Deputy health server whose
// readiness has three checks (sync, async, cached) and whose liveness has none; plus a Deputy with
// one hung check for the timeout bound. Prints their ports as one JSON line on stdout; then each
// line "cpu" on stdin is answered with this process's CPU time so far (µs) on stdout.
import { createServer } from 'node:http';
import { createInterface } from 'node:readline';
import { Deputy } from '../../dist/index.js';

const bare = createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': '15' });
  res.end('{"status":"ok"}');
});
await new Promise((resolve) => bare.listen(0, '127.0.0.1', resolve));

// Three checks that cost nothing themselves, so that the figure is the Deputy's own overhead: one
// answering synchronously, one asynchronously (a promise, as an I/O check returns), one cached.
let syncRuns = 0;
let asyncRuns = 0;
const deputy = new Deputy()
  .addReadinessCheck('sync', () => void (syncRuns += 1))
  .addReadinessCheck('async', async () => void (asyncRuns += 1))
  .addReadinessCheck('cached', async () => undefined, { cacheMs: 1000 });
deputy.readied();
const health = await deputy.serve({ host: '127.0.0.1', port: 0 });

// The hung call gives up when its signal aborts, so each probe starts a new one and waits out the
// whole timeout (a call that ignored the signal would hold its run: later probes answer at once).
const hung = new Deputy().addReadinessCheck(
  'hung',
  (signal) => new Promise((resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true })),
  { timeoutMs: 100 },
);
hung.readied();
const hungServer = await hung.serve({ host: '127.0.0.1', port: 0 });

process.stdout.write(
  `${JSON.stringify({ bare: bare.address().port, health: health.address().port, hung: hungServer.address().port, hungTimeoutMs: 100 })}\n`,
);

createInterface({ input: process.stdin }).on('line', (line) => {
  if (line === 'cpu') {
    const { user, system } = process.cpuUsage();
    process.stdout.write(`${user + system}\n`);
  }
});
process.stdin.on('end', () => process.exit(0));
