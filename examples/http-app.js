// An HTTP app made terminable: Deputy serves the probes, gracefulTerminator receives `terminate`
// from `deputy terminate` (the preStop hook) or from `deputy supervise`, and shutdown closes the
// server after its in-flight requests finish.
//   GET /          → "hello"
//   GET /slow?ms=N → answers after N milliseconds (to watch an in-flight request survive shutdown)
// Environment: PORT (default 8080, 0 for a free port), plus every DEPUTY_* variable.
import { createServer } from 'node:http';
import { Deputy, createLogger, gracefulTerminator } from 'k8s-deputy';

const log = createLogger('app');

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://app');
  const delayMs = url.pathname === '/slow' ? Number(url.searchParams.get('ms') ?? 1000) : 0;
  if (delayMs) log.info({ delayMs }, 'slow request started');
  setTimeout(() => {
    // Once shutting down, tell keep-alive clients to go, so close() is not held by idle sockets.
    if (deputy.shuttingDown) res.setHeader('connection', 'close');
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(delayMs ? `slow hello after ${delayMs} ms\n` : 'hello\n');
    if (delayMs) log.info({ delayMs }, 'slow request answered');
  }, delayMs);
});

const deputy = new Deputy({
  shutdownHandlerTimeoutMs: 10_000,
  shutdownHandler: () =>
    new Promise((resolve, reject) => {
      // close() stops accepting and resolves once in-flight requests are done;
      // closeIdleConnections() lets idle keep-alive sockets go now instead of at their timeout.
      server.close((error) => (error ? reject(error) : resolve()));
      server.closeIdleConnections();
      log.info('http server closing; waiting for in-flight requests');
    }),
});

await deputy.serve();
await new Promise((resolve) => server.listen(Number(process.env.PORT ?? 8080), resolve));
log.info({ port: server.address().port }, 'app listening');

gracefulTerminator(() => deputy.shutdown());
deputy.readied();
