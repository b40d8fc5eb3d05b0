// memcachedCheck and tcpCheck against a real memcached (stopped and restarted mid-test), and
// httpCheck against a real HTTP server: status, body match, and what each failure reports.
process.env.DEPUTY_LOG_LEVEL = 'silent';
import t from 'tap';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import { Deputy, httpCheck, memcachedCheck, tcpCheck } from '../src/index.js';
import { get, listen, serve } from './probe-http.js';
import { freePort, startMemcached } from './servers.js';

t.test('memcachedCheck and tcpCheck follow memcached down and back up', async (t) => {
  const server = await startMemcached(t);
  if (!server) return;
  const deputy = new Deputy()
    .addReadinessCheck('memcached', memcachedCheck({ port: server.port }), { timeoutMs: 1000 })
    .addReadinessCheck('tcp', tcpCheck({ host: '127.0.0.1', port: server.port }), { timeoutMs: 1000 });
  deputy.readied();
  const port = await serve(t, deputy);
  let answer = await get(port, '/readyz');
  t.same([answer.status, answer.json], [200, { status: 'ready' }], 'ready while memcached runs');

  await server.stop();
  answer = await get(port, '/readyz?verbose');
  t.equal(answer.status, 503);
  t.same(answer.json.reasons, ['memcached:unavailable', 'tcp:unavailable']);
  t.match(answer.json.checks[0].message, /^memcached 127\.0\.0\.1:\d+: connect ECONNREFUSED/);

  await server.start();
  t.same((await get(port, '/readyz')).json, { status: 'ready' }, 'ready again after the restart');
});

t.test('memcachedCheck: a peer that is not memcached', async (t) => {
  // Answers "ERROR" to anything, as memcached does to an unknown command.
  const peer = createTcpServer((socket) => socket.once('data', () => socket.write('ERROR\r\n')));
  const silentClose = createTcpServer((socket) => socket.end());
  const ports = await Promise.all([peer, silentClose].map((s) => new Promise<number>((resolve) => s.listen(0, '127.0.0.1', () => resolve((s.address() as { port: number }).port)))));
  t.teardown(() => {
    peer.close();
    silentClose.close();
  });
  const deputy = new Deputy()
    .addReadinessCheck('error-peer', memcachedCheck({ port: ports[0]! }))
    .addReadinessCheck('closing-peer', memcachedCheck({ port: ports[1]! }));
  deputy.readied();
  const answer = await get(await serve(t, deputy), '/readyz?verbose');
  t.same(answer.json.reasons, ['error-peer:unavailable', 'closing-peer:unavailable']);
  t.match(answer.json.checks, [{ message: /stats answered ERROR/ }, { message: /closed before stats finished/ }]);
});

t.test('httpCheck: status, body match, and failures', async (t) => {
  const app = createHttpServer((req, res) => {
    if (req.url === '/status') res.end('{"connector":{"state":"RUNNING"}}');
    else if (req.url === '/failed') res.end('{"connector":{"state":"FAILED"}}');
    else if (req.url === '/teapot') res.writeHead(418).end('short and stout');
    else if (req.url === '/hang') return; // never answers
    else res.writeHead(404).end();
  });
  const appPort = await listen(t, app);
  const deadPort = await freePort();
  const base = `http://127.0.0.1:${appPort}`;
  const deputy = new Deputy()
    .addReadinessCheck('running', httpCheck(`${base}/status`, { expectBody: /"state":"RUNNING"/g }))
    .addReadinessCheck('teapot-expected', httpCheck(`${base}/teapot`, { expectStatus: 418 }))
    .addReadinessCheck('failed', httpCheck(`${base}/failed`, { expectBody: /RUNNING/ }))
    .addReadinessCheck('missing', httpCheck(`${base}/missing`))
    .addReadinessCheck('dead', httpCheck(`http://127.0.0.1:${deadPort}/`))
    .addReadinessCheck('hang', httpCheck(`${base}/hang`), { timeoutMs: 200 });
  deputy.readied();
  const port = await serve(t, deputy);
  for (const round of [1, 2]) {
    // Twice: a /g pattern must not carry lastIndex over to the next run.
    const answer = await get(port, '/readyz?verbose');
    t.same(answer.json.reasons, ['failed:body_mismatch', 'missing:bad_status', 'dead:unavailable', 'hang:timeout'], `round ${round}`);
    t.match(answer.json.checks, [
      { name: 'running', ok: true },
      { name: 'teapot-expected', ok: true },
      { name: 'failed', message: /body does not match \/RUNNING\// },
      { name: 'missing', message: /answered 404, expected 2xx/ },
      { name: 'dead', message: /ECONNREFUSED/ },
      { name: 'hang', message: 'no answer within 200 ms' },
    ]);
  }
  t.throws(() => httpCheck('not a url'), { message: /is not a valid URL/ });
  t.throws(() => httpCheck('ftp://example.invalid/'), { message: /not an http: or https: URL/ });
  t.throws(() => tcpCheck({ port: 0 }), { message: /port must be an integer from 1 to 65535/ });
});
