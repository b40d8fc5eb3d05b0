// One replica of the benchmark's app, made terminable by one of the compared libraries.
// MODE: naive | stoppable | http-terminator | terminus | lightship | deputy
// DELAY_MS: the pre-shutdown delay every library is given (ours: drainDelayMs).
// Prints one JSON line on stdout once listening: { port, probePort, probePath }; on SIGTERM it
// shuts down the way the library's README recommends, given the same delay.
// GET / answers "ok" after 0 ms, or after 50 ms for one request in 20 (so some are in flight);
// GET /slow?ms=N answers after N ms. KEEP_ALIVE_MS sets server.keepAliveTimeout.
import http from 'node:http';

const mode = process.env.MODE ?? 'naive';
const delayMs = Number(process.env.DELAY_MS ?? 0);
const graceMs = Number(process.env.GRACE_MS ?? 30_000);
let count = 0;
let shuttingDown = false;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function app(req, res) {
  if (req.url === '/readyz') {
    res.statusCode = shuttingDown ? 503 : 200;
    res.end(shuttingDown ? 'shutting down' : 'ready');
    return;
  }
  const slow = /^\/slow\?ms=(\d+)$/.exec(req.url ?? '');
  const wait = slow ? Number(slow[1]) : ++count % 20 === 0 ? 50 : 0;
  const reply = () => res.end('ok');
  if (wait) setTimeout(reply, wait);
  else reply();
}

const server = http.createServer(app);
if (process.env.KEEP_ALIVE_MS) server.keepAliveTimeout = Number(process.env.KEEP_ALIVE_MS);
const listen = () => new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const announce = (probePort, probePath) => process.stdout.write(`${JSON.stringify({ port: server.address().port, probePort, probePath })}\n`);

if (mode === 'naive') {
  await listen();
  process.on('SIGTERM', () => process.exit(0));
  announce(server.address().port, '/readyz');
} else if (mode === 'stoppable') {
  const { default: stoppable } = await import('stoppable');
  stoppable(server, graceMs);
  await listen();
  process.on('SIGTERM', async () => {
    shuttingDown = true;
    await sleep(delayMs);
    server.stop(() => process.exit(0));
  });
  announce(server.address().port, '/readyz');
} else if (mode === 'http-terminator') {
  const { createHttpTerminator } = await import('http-terminator');
  const terminator = createHttpTerminator({ server, gracefulTerminationTimeout: graceMs });
  await listen();
  process.on('SIGTERM', async () => {
    shuttingDown = true;
    await sleep(delayMs);
    await terminator.terminate();
    process.exit(0);
  });
  announce(server.address().port, '/readyz');
} else if (mode === 'terminus') {
  const { createTerminus } = await import('@godaddy/terminus');
  createTerminus(server, {
    signals: ['SIGTERM'],
    healthChecks: { '/readyz': async () => 'ready' },
    beforeShutdown: () => sleep(delayMs),
    timeout: graceMs,
  });
  await listen();
  announce(server.address().port, '/readyz');
} else if (mode === 'lightship') {
  const { createLightship } = await import('lightship');
  const lightship = await createLightship({ detectKubernetes: false, port: 0, shutdownDelay: delayMs, gracefulShutdownTimeout: graceMs, signals: ['SIGTERM'] });
  lightship.registerShutdownHandler(() => new Promise((resolve) => server.close(resolve)));
  await listen();
  lightship.signalReady();
  announce(lightship.server.address().port, '/ready');
} else if (mode === 'deputy') {
  const { Deputy, gracefulTerminator } = await import('../../dist/index.js');
  const deputy = new Deputy({ drainDelayMs: delayMs, gracePeriodMs: graceMs });
  const health = await deputy.serve({ host: '127.0.0.1', port: 0 });
  deputy.attach(server);
  await listen();
  gracefulTerminator(() => deputy.shutdown());
  deputy.readied();
  announce(health.address().port, '/readyz');
} else {
  throw new Error(`unknown MODE ${mode}`);
}
