// postgresCheck against a real PostgreSQL: ready, server stopped mid-test → 503 postgres:unavailable,
// restarted → ready again. Through the app's own pg Pool, and a pg Client.
process.env.DEPUTY_LOG_LEVEL = 'silent';
import t from 'tap';
import pg from 'pg';
import { Deputy, postgresCheck } from '../src/index.js';
import { get, serve } from './probe-http.js';
import { startPostgres } from './servers.js';

t.test('postgresCheck follows the server down and back up', async (t) => {
  const server = await startPostgres(t);
  if (!server) return;
  const connection = { host: '127.0.0.1', port: server.port, user: 'postgres', database: 'postgres', connectionTimeoutMillis: 2000 };
  const pool = new pg.Pool({ ...connection, max: 2 });
  // Idle clients whose server went away emit 'error' on the pool; an app must listen for it.
  const poolErrors: Error[] = [];
  pool.on('error', (error) => poolErrors.push(error));
  t.teardown(() => pool.end());
  const client = new pg.Client(connection);
  client.on('error', () => {});
  await client.connect();
  t.teardown(() => client.end().catch(() => {}));

  const deputy = new Deputy()
    .addReadinessCheck('postgres', postgresCheck(pool), { timeoutMs: 3000 })
    .addReadinessCheck('pg-client', postgresCheck(client), { timeoutMs: 3000 });
  deputy.readied();
  const port = await serve(t, deputy);

  let answer = await get(port, '/readyz?verbose');
  t.same([answer.status, answer.json.status], [200, 'ready'], 'ready while postgres runs');
  t.match(answer.json.checks, [{ name: 'postgres', ok: true }, { name: 'pg-client', ok: true }]);

  await server.stop();
  answer = await get(port, '/readyz?verbose');
  t.equal(answer.status, 503, 'not ready once postgres is stopped');
  t.same(answer.json.reasons, ['postgres:unavailable', 'pg-client:unavailable']);
  t.match(answer.json.checks[0], { name: 'postgres', ok: false, message: /^postgres: / });

  await server.start();
  answer = await get(port, '/readyz?verbose');
  // The pool opens a new connection; a single Client stays broken, as it really is.
  t.same(answer.json.reasons, ['pg-client:unavailable'], 'the pool recovers after the restart');
  t.match(answer.json.checks[0], { name: 'postgres', ok: true });
});

t.test('postgresCheck needs something with query()', async (t) => {
  t.throws(() => postgresCheck({} as never), { message: /needs a pg Pool or Client/ });
});
