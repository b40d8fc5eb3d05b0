// The servers under load, in their own process so that the load generator does not share their
// event loop: a bare node:http 200 server (the anchor); a Deputy with the app's registry
// (client.register, default metrics collected) and three readiness checks; the same Deputy
// without a registry; and a Deputy with 20 readiness checks and a registry of its own, whose
// checks have run (histograms and failure counters filled) for the scrape time. Prints the ports
// as one JSON line on stdout, then answers stdin lines: "cpu" → this process's CPU time so far
// (µs); "scrape <n>" → the median and max of n in-process registry.metrics() calls (ms), as JSON.
import { createServer } from 'node:http';
import { createInterface } from 'node:readline';
import client from 'prom-client';
import { Deputy, NotReady } from '../../dist/index.js';

const bare = createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': '15' });
  res.end('{"status":"ok"}');
});
await new Promise((resolve) => bare.listen(0, '127.0.0.1', resolve));

// Checks that cost nothing themselves, so that the figures are the Deputy's own overhead.
const withChecks = (deputy) =>
  deputy
    .addReadinessCheck('sync', () => undefined)
    .addReadinessCheck('async', async () => undefined)
    .addReadinessCheck('cached', async () => undefined, { cacheMs: 1000 });

client.collectDefaultMetrics();
const registered = withChecks(new Deputy({ registry: client.register }));
registered.readied();
const withRegistry = await registered.serve({ host: '127.0.0.1', port: 0 });
const plain = withChecks(new Deputy());
plain.readied();
const withoutRegistry = await plain.serve({ host: '127.0.0.1', port: 0 });

// 20 checks, a quarter failing with one of two reasons, so that every metric has series.
const scrapeRegistry = new client.Registry();
const twenty = new Deputy({ registry: scrapeRegistry });
let flip = false;
for (let i = 0; i < 20; i += 1) {
  twenty.addReadinessCheck(`dep${i}`, () => {
    if (i % 4 === 0) throw new NotReady(flip ? 'down' : 'timeout');
  });
}
twenty.readied();
for (let i = 0; i < 50; i += 1) {
  flip = !flip;
  await twenty.probe('ready');
}
const scrape = await twenty.serve({ host: '127.0.0.1', port: 0 });

process.stdout.write(
  `${JSON.stringify({ bare: bare.address().port, withRegistry: withRegistry.address().port, withoutRegistry: withoutRegistry.address().port, scrape: scrape.address().port })}\n`,
);

createInterface({ input: process.stdin }).on('line', async (line) => {
  if (line === 'cpu') {
    const { user, system } = process.cpuUsage();
    process.stdout.write(`${user + system}\n`);
  } else if (line.startsWith('scrape ')) {
    const times = [];
    for (let i = 0; i < Number(line.slice(7)); i += 1) {
      const started = performance.now();
      await scrapeRegistry.metrics();
      times.push(performance.now() - started);
    }
    times.sort((a, b) => a - b);
    process.stdout.write(`${JSON.stringify({ median: times[Math.floor(times.length / 2)], max: times[times.length - 1], bytes: (await scrapeRegistry.metrics()).length })}\n`);
  }
});
process.stdin.on('end', () => process.exit(0));
