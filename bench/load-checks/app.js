// One app for the load-checks benchmark, in its own process: a bare node:http server answering
// 200 on / (the anchor), and a Deputy health server whose readiness has the load checks
// (LOAD_CHECKS=1: eventLoopCheck and memoryCheck) or none. Prints its ports as one JSON line on
// stdout; then each line "cpu" on stdin is answered with this process's CPU time so far (µs).
import { createServer } from 'node:http';
import { createInterface } from 'node:readline';
import { Deputy, eventLoopCheck, memoryCheck } from '../../dist/index.js';

const bare = createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': '15' });
  res.end('{"status":"ok"}');
});
await new Promise((resolve) => bare.listen(0, '127.0.0.1', resolve));

const deputy = new Deputy();
if (process.env.LOAD_CHECKS === '1') {
  deputy.addReadinessCheck('event-loop', eventLoopCheck({ maxDelayMs: 1000 }));
  deputy.addReadinessCheck('memory', memoryCheck({ maxRssBytes: 4 * 1024 ** 3, maxHeapUsedBytes: 2 * 1024 ** 3 }));
}
deputy.readied();
const health = await deputy.serve({ host: '127.0.0.1', port: 0 });
process.stdout.write(`${JSON.stringify({ bare: bare.address().port, health: health.address().port })}\n`);

createInterface({ input: process.stdin }).on('line', (line) => {
  if (line === 'cpu') {
    const { user, system } = process.cpuUsage();
    process.stdout.write(`${user + system}\n`);
  }
});
process.stdin.on('end', () => process.exit(0));
