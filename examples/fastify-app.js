// The HTTP app on Fastify.
// The `k8s-deputy/fastify` plugin drains Fastify's server when shutdown begins (keeps serving
// through the drain delay, `Connection: close`, in-flight requests finish, idle keep-alive
// sockets closed once past their advertised timeout), answers the probe paths on the app's port,
// and closes Fastify (its onClose hooks) within the shutdown deadline.
//   GET /          → "hello"
//   GET /slow?ms=N → answers after N milliseconds
// Install: npm install fastify k8s-deputy. Environment: PORT (default 8080), every DEPUTY_* variable.
import { setTimeout as sleep } from 'node:timers/promises';
import Fastify from 'fastify';
import { Deputy, createLogger, gracefulTerminator } from 'k8s-deputy';
import deputyPlugin from 'k8s-deputy/fastify';

const log = createLogger('app');
// Deadlines come from the environment (DEPUTY_DRAIN_DELAY, DEPUTY_GRACE_PERIOD): the same numbers
// `deputy lint` checks against the pod spec.
const deputy = new Deputy();
const fastify = Fastify();
await fastify.register(deputyPlugin, { deputy });

fastify.get('/', async () => 'hello\n');
fastify.get('/slow', async (request) => {
  const ms = Number(request.query.ms ?? 1000);
  await sleep(ms);
  return `slow hello after ${ms} ms\n`;
});

await deputy.serve();
const address = await fastify.listen({ port: Number(process.env.PORT ?? 8080), host: '0.0.0.0' });
log.info({ address }, 'app listening');

gracefulTerminator(() => deputy.shutdown());
deputy.readied();
