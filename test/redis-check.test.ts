// redisCheck against a real Redis through node-redis and ioredis: ready, server stopped mid-test
// → 503 (timeout with an offline queue, unavailable without), restarted → ready again.
process.env.DEPUTY_LOG_LEVEL = 'silent';
import t from 'tap';
import { createClient } from 'redis';
import { Redis } from 'ioredis';
import { Deputy, redisCheck } from '../src/index.js';
import { get, serve } from './probe-http.js';
import { startRedis } from './servers.js';

/** Resolves on the client's next 'ready' event (both libraries emit it after reconnecting). */
function nextReady(client: { once(event: 'ready', listener: () => void): unknown }): Promise<void> {
  return new Promise((resolve) => client.once('ready', () => resolve()));
}

t.test('redisCheck follows the server down and back up', async (t) => {
  const server = await startRedis(t);
  if (!server) return;
  const reconnect = { reconnectStrategy: () => 50 };
  const nodeRedis = createClient({ socket: { host: '127.0.0.1', port: server.port, ...reconnect } });
  const nodeRedisNoQueue = createClient({ socket: { host: '127.0.0.1', port: server.port, ...reconnect }, disableOfflineQueue: true });
  const ioredis = new Redis({ host: '127.0.0.1', port: server.port, retryStrategy: () => 50, lazyConnect: true });
  for (const client of [nodeRedis, nodeRedisNoQueue, ioredis]) {
    client.on('error', () => {}); // reconnect attempts while the server is down
  }
  await Promise.all([nodeRedis.connect(), nodeRedisNoQueue.connect(), ioredis.connect()]);
  t.teardown(() => {
    nodeRedis.destroy();
    nodeRedisNoQueue.destroy();
    ioredis.disconnect();
  });

  const deputy = new Deputy()
    .addReadinessCheck('redis', redisCheck(nodeRedis), { timeoutMs: 300 })
    .addReadinessCheck('redis-noqueue', redisCheck(nodeRedisNoQueue), { timeoutMs: 300 })
    .addReadinessCheck('ioredis', redisCheck(ioredis), { timeoutMs: 300 });
  deputy.readied();
  const port = await serve(t, deputy);

  let answer = await get(port, '/readyz?verbose');
  t.same([answer.status, answer.json.status], [200, 'ready'], 'ready while redis runs');
  t.match(answer.json.checks, [{ name: 'redis', ok: true }, { name: 'redis-noqueue', ok: true }, { name: 'ioredis', ok: true }]);

  // Both libraries emit 'reconnecting' once they have seen the connection drop: probing before
  // that could catch a command written to the dying socket instead of the offline behaviour.
  const noticed = Promise.all([nodeRedis, nodeRedisNoQueue, ioredis].map((client) => new Promise<void>((resolve) => client.once('reconnecting', () => resolve()))));
  await server.stop();
  await noticed;
  answer = await get(port, '/readyz?verbose');
  t.equal(answer.status, 503, 'not ready once redis is stopped');
  t.same(answer.json.reasons, ['redis:timeout', 'redis-noqueue:unavailable', 'ioredis:timeout']);
  t.match(answer.json.checks[1], { ok: false, message: /^redis: / });

  const reconnected = Promise.all([nextReady(nodeRedis), nextReady(nodeRedisNoQueue), nextReady(ioredis)]);
  await server.start();
  await reconnected;
  // The PINGs queued during the outage go out first: once ours are answered, those have settled
  // too, so the check's timed-out call no longer holds its run.
  await Promise.all([nodeRedis.ping(), ioredis.ping()]);
  answer = await get(port, '/readyz');
  t.same([answer.status, answer.json], [200, { status: 'ready' }], 'ready again once the clients reconnect');
});

t.test('redisCheck needs something with ping()', async (t) => {
  t.throws(() => redisCheck({} as never), { message: /needs a node-redis or ioredis client/ });
});
