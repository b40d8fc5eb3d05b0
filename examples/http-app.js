// An HTTP app made terminable: Deputy serves the probes, gracefulTerminator receives `terminate`
// from `deputy terminate` (the preStop hook) or from `deputy supervise`, and shutdown drains the
// attached server: keeps serving during the drain delay (responses say Connection: close), then
// stops listening, lets in-flight requests finish and closes idle keep-alive sockets safely.
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
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(delayMs ? `slow hello after ${delayMs} ms\n` : 'hello\n');
    if (delayMs) log.info({ delayMs }, 'slow request answered');
  }, delayMs);
});

const deputy = new Deputy({
  // Handlers run after the drain: close databases, flush telemetry… here, just say so.
  shutdownHandler: () => log.info('http server drained; closing the rest of the app'),
});

await deputy.serve();
deputy.attach(server);
await new Promise((resolve) => server.listen(Number(process.env.PORT ?? 8080), resolve));
log.info({ port: server.address().port }, 'app listening');

gracefulTerminator(() => deputy.shutdown());
deputy.readied();
