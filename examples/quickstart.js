// The README's app: an HTTP server that Kubernetes can stop without dropping a request.
import { createServer } from 'node:http';
import { Deputy, gracefulTerminator } from 'k8s-deputy';

const deputy = new Deputy({
  shutdownHandler: () => console.error('drained; closing the database'), // runs after the drain
});
const server = deputy.attach(createServer((req, res) => res.end('hello\n')));

await deputy.serve(); // /livez /readyz /startupz on $DEPUTY_HEALTH_CHECK_PORT (8081)
await new Promise((resolve) => server.listen(Number(process.env.PORT ?? 8080), resolve));

// `deputy terminate` (preStop), `deputy supervise` (PID 1) or SIGTERM → graceful shutdown:
// readiness fails, traffic drains, handlers run, the process exits 0.
gracefulTerminator(() => deputy.shutdown());
deputy.readied();
