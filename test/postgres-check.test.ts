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

t.test('postgresCheck: a hung server ends the call by query_timeout, without a second query meanwhile', async (t) => {
  const server = await startPostgres(t);
  if (!server) return;
  const client = new pg.Client({ host: '127.0.0.1', port: server.port, user: 'postgres', database: 'postgres' });
  client.on('error', () => {});
  await client.connect();
  t.teardown(() => client.end().catch(() => {}));
  const backendPid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
  // Counts the queries the check sends through the real client, and keeps the last one.
  let queries = 0;
  let last: Promise<unknown> = Promise.resolve();
  const counting = { query: (config: { text: string; query_timeout?: number }) => ((queries += 1), (last = client.query(config))) };
  const deputy = new Deputy().addReadinessCheck('postgres', postgresCheck(counting, { queryTimeoutMs: 600 }), { timeoutMs: 200 });
  deputy.readied();
  const port = await serve(t, deputy);
  t.same((await get(port, '/readyz')).json, { status: 'ready' });

  // A stopped backend: the connection stays up but SELECT 1 never answers.
  process.kill(backendPid, 'SIGSTOP');
  let resumed = false;
  const resume = (): void => {
    if (!resumed) process.kill(backendPid, 'SIGCONT');
    resumed = true;
  };
  t.teardown(resume);
  const first = await get(port, '/readyz');
  t.same(first.json.reasons, ['postgres:timeout']);
  const second = await get(port, '/readyz');
  t.same(second.json.reasons, ['postgres:timeout'], 'still timing out, answered at once');
  t.equal(queries, 2, 'no query sent while the hung one is pending (one for ready, one hung)');
  // query_timeout ends the hung call: then the next probe sends a new query.
  let bound: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    last.then(() => 'answered', (error: Error) => error.message),
    new Promise((resolve) => (bound = setTimeout(resolve, 5000, 'still pending after 5 s'))),
  ]);
  clearTimeout(bound);
  t.match(outcome, /timeout/i, 'pg ended the hung query itself');
  t.same((await get(port, '/readyz')).json.reasons, ['postgres:timeout'], 'the backend is still stopped');
  t.equal(queries, 3, 'a new query once query_timeout ended the hung one');
  resume();
});

t.test('postgresCheck needs something with query()', async (t) => {
  t.throws(() => postgresCheck({} as never), { message: /needs a pg Pool or Client/ });
  t.throws(() => postgresCheck({ query: async () => undefined }, { queryTimeoutMs: 0 }), { message: /queryTimeoutMs must be an integer/ });
});
