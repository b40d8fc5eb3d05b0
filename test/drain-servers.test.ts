// The same drain on other servers, in a child process (test/fixtures/drain-app.js), with real
// clients (node:http2, node:https) and real signals: HTTP/2 sessions get GOAWAY, https and h2
// over TLS, Express through its http.Server, and the Fastify plugin with probes on its port.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Agent, type IncomingHttpHeaders } from 'node:http';
import { connect as h2connect, type ClientHttp2Session } from 'node:http2';
import { logIndex, tempIpcDir } from './helpers.js';
import { get, record, startApp } from './drain-helpers.js';

t.test('HTTP/2: sessions get GOAWAY, a running stream completes, the process exits', async (t) => {
  const { app, port } = await startApp(t, { KIND: 'h2c', DEPUTY_DRAIN_DELAY: '300ms' });
  const session: ClientHttp2Session = h2connect(`http://127.0.0.1:${port}`);
  t.teardown(() => session.destroy());
  const goaway = new Promise<number>((resolve) => session.once('goaway', (code: number) => resolve(code)));
  const stream = session.request({ ':path': '/slow?ms=1000' });
  let body = '';
  stream.setEncoding('utf8').on('data', (c: string) => (body += c));
  const ended = new Promise<void>((resolve, reject) => {
    stream.on('end', resolve);
    stream.on('error', reject);
  });
  await app.waitForLog('stream started');
  app.process.kill('SIGTERM');
  t.equal(await goaway, 0, 'GOAWAY with NO_ERROR');
  await ended;
  t.equal(body, 'started\nslow 1000\n', 'the running stream completed');
  t.equal((await app.exited).status, 0);
  t.equal(record(app, 'drain complete').outcome, 'drained');
});

const openssl = spawnSync('openssl', ['version']);
const noOpenssl = openssl.error ? `openssl not available (${openssl.error.message}); apt-get install openssl` : undefined;
// Skipped without openssl, except in CI, where the missing package is a failure.
t.test('TLS: https and HTTP/2 over TLS drain the same way', { skip: noOpenssl && process.env.CI !== 'true' ? noOpenssl : false }, async (t) => {
  if (noOpenssl) {
    t.fail(noOpenssl);
    return;
  }
  const dir = tempIpcDir(t, 'deputy-tls-');
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost']);
  t.equal(made.status, 0, 'self-signed certificate made');
  const env = { TLS_KEY: key, TLS_CERT: cert, DEPUTY_DRAIN_DELAY: '300ms', NODE_TLS_REJECT_UNAUTHORIZED: '0' };

  const https = await startApp(t, { ...env, KIND: 'https' });
  const { request: httpsRequest } = await import('node:https');
  const call = (): Promise<IncomingHttpHeaders> =>
    new Promise((resolve, reject) => {
      const req = httpsRequest({ host: '127.0.0.1', port: https.port, path: '/slow?ms=600', rejectUnauthorized: false, agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.headers));
      });
      req.on('error', reject);
      req.end();
    });
  const slow = call();
  await https.app.waitForLog('slow request started');
  https.app.process.kill('SIGTERM');
  t.equal((await slow).connection, 'close', 'https: in-flight request completes with Connection: close');
  t.equal((await https.app.exited).status, 0);

  const h2 = await startApp(t, { ...env, KIND: 'h2' });
  const session = h2connect(`https://127.0.0.1:${h2.port}`, { rejectUnauthorized: false });
  t.teardown(() => session.destroy());
  const goaway = new Promise<void>((resolve) => session.once('goaway', () => resolve()));
  const stream = session.request({ ':path': '/slow?ms=600' });
  stream.resume();
  const ended = new Promise<void>((resolve, reject) => stream.on('end', resolve).on('error', reject));
  await h2.app.waitForLog('stream started');
  h2.app.process.kill('SIGTERM');
  await goaway;
  await ended;
  t.pass('h2: GOAWAY received and the stream completed');
  t.equal((await h2.app.exited).status, 0);
});

t.test('Express through its http.Server', async (t) => {
  const { app, port } = await startApp(t, { KIND: 'express', DEPUTY_DRAIN_DELAY: '500ms' });
  const slow = get(port, '/slow?ms=800');
  await app.waitForLog('slow request started');
  app.process.kill('SIGTERM');
  await app.waitForLog('drain delay started');
  const during = await get(port, '/');
  t.equal(during.status, 200);
  t.equal(during.headers.connection, 'close');
  t.equal((await slow).body, 'slow 800\n');
  t.equal((await app.exited).status, 0);
  t.equal(record(app, 'drain complete').outcome, 'drained');
});

t.test('Fastify plugin: drains the app and answers the probes on its port', async (t) => {
  const { app, port } = await startApp(t, { KIND: 'fastify', DEPUTY_DRAIN_DELAY: '800ms' });
  const keepAlive = new Agent({ keepAlive: true });
  const first = await get(port, '/', keepAlive);
  keepAlive.destroy();
  t.equal(first.headers['keep-alive'], 'timeout=5', "Fastify's 72 s keepAliveTimeout is advertised as at most 5 s");
  const ready = await get(port, '/readyz');
  t.equal(ready.status, 200);
  t.same(JSON.parse(ready.body), { status: 'ready' });
  t.equal((await get(port, '/')).body, 'hello\n', 'app routes still work');
  for (const method of ['OPTIONS', 'POST', 'PATCH']) {
    const other = await get(port, '/readyz', false, method);
    t.equal(other.status, 405, `${method} /readyz → 405 as on the health server`);
    t.equal(other.headers.allow, 'GET, HEAD');
  }
  const slow = get(port, '/slow?ms=1000');
  await app.waitForLog('slow request started');
  app.process.kill('SIGTERM');
  await app.waitForLog('drain delay started');
  const notReady = await get(port, '/readyz');
  t.equal(notReady.status, 503, 'readiness fails during shutdown, on the app port');
  t.same(JSON.parse(notReady.body).reasons, ['shutting_down']);
  t.equal(notReady.headers.connection, 'close');
  t.equal((await get(port, '/livez')).status, 200, 'liveness stays 200');
  t.equal((await slow).body, 'slow 1000\n', 'in-flight request completes');
  t.equal((await app.exited).status, 0);
  t.equal(record(app, 'drain complete').outcome, 'drained');
  t.ok(logIndex(app.logs, 'fastify closed') > logIndex(app.logs, 'drain complete'), 'Fastify closed (onClose hooks) after the drain');
});
