// The drain, phase by phase, with real servers (test/fixtures/drain-app.js in a child process),
// real clients (node:http, raw sockets, node:http2, fetch) and real signals.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Agent, request, type IncomingHttpHeaders } from 'node:http';
import { connect as h2connect, type ClientHttp2Session } from 'node:http2';
import { connect as netConnect, type Socket } from 'node:net';
import type { Test } from 'tap';
import { logIndex, setEnv, spawnFixture, tempIpcDir, type Child } from './helpers.js';

interface Answer {
  status: number;
  body: string;
  headers: IncomingHttpHeaders;
  socket: Socket;
}

function get(port: number, path: string, agent: Agent | false = false, method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent, method }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, body, headers: res.headers, socket: req.socket! }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function startApp(t: Test, env: NodeJS.ProcessEnv = {}): Promise<{ app: Child; port: number }> {
  const app = spawnFixture(t, 'drain-app.js', { DEPUTY_IPC_DIR: tempIpcDir(t), DEPUTY_DRAIN_DELAY: '0', DEPUTY_DRAIN_QUIET: '0', ...env });
  const listening = await app.waitForLog('app listening');
  return { app, port: listening.port as number };
}

function record(app: Child, msg: string): Record<string, unknown> {
  return app.logs.find((r) => typeof r.msg === 'string' && r.msg.includes(msg)) ?? {};
}

function socketClosed(socket: Socket): Promise<number> {
  return new Promise((resolve) => (socket.destroyed ? resolve(Date.now()) : socket.once('close', () => resolve(Date.now()))));
}

t.test('delay: new connections are served, every response says Connection: close, in-flight requests finish, handlers run after the drain', async (t) => {
  const { app, port } = await startApp(t, { DEPUTY_DRAIN_DELAY: '1500ms', DEPUTY_DRAIN_QUIET: '200ms' });
  const agent = new Agent({ keepAlive: true });
  t.teardown(() => agent.destroy());
  const before = await get(port, '/', agent);
  t.equal(before.headers.connection, 'keep-alive', 'before shutdown: keep-alive');
  t.match(before.headers['keep-alive'], /^timeout=\d+/, 'before shutdown: the Keep-Alive timeout hint');

  const slow = get(port, '/slow?ms=1200', agent);
  await app.waitForLog('slow request started');
  app.process.kill('SIGTERM');
  await app.waitForLog('drain delay started');

  const fresh = await get(port, '/');
  t.equal(fresh.status, 200, 'a new connection during the delay is served');
  t.equal(fresh.headers.connection, 'close', 'and told to close');
  const pinned = await get(port, '/', agent);
  t.equal(pinned.status, 200, 'a keep-alive client during the delay is served');
  t.equal(pinned.headers.connection, 'close', 'and told to close');
  t.notOk(pinned.headers['keep-alive'], 'no Keep-Alive hint while draining');

  const inFlight = await slow;
  t.equal(inFlight.status, 200, 'the request in flight at SIGTERM completes');
  t.equal(inFlight.body, 'slow 1200\n');
  t.equal(inFlight.headers.connection, 'close', 'its response says Connection: close too');

  t.equal((await app.exited).status, 0, 'exit 0');
  const delay = record(app, 'drain delay ended');
  t.equal(delay.reason, 'quiet');
  t.ok((delay.durationMs as number) >= 1500, `the delay lasted at least drainDelayMs (${String(delay.durationMs)} ms)`);
  const drained = record(app, 'drain complete');
  t.equal(drained.outcome, 'drained');
  t.equal(drained.destroyed, 0, 'nothing destroyed');
  const order = ['shutdown started', 'drain delay started', 'drain delay ended', 'drain started', 'drain complete', 'shutdown handlers started', 'handler started', 'shutdown complete'].map((m) => logIndex(app.logs, m));
  t.ok(order.every((i, n) => i >= 0 && (n === 0 || i > order[n - 1]!)), `phases in order: ${JSON.stringify(order)}`);
  t.equal(record(app, 'handler started').connections, 0, 'handlers run once no connection is left');
});

t.test('an idle keep-alive socket is not closed before its advertised timeout, and is served if reused meanwhile', async (t) => {
  // timeout=3 advertised. This Agent has no `timeout` option, so it ignores the hint and keeps
  // the socket until the server closes it — the drain must not close it before 3 s idle.
  const keepAliveMs = 3000;
  const { app, port } = await startApp(t, { KEEP_ALIVE_MS: String(keepAliveMs) });
  // Two idle sockets from before shutdown: one stays idle, one is reused after listening stopped.
  const idle = await get(port, '/', new Agent({ keepAlive: true }));
  const idleSince = Date.now();
  const reusedAgent = new Agent({ keepAlive: true });
  const reused = await get(port, '/', reusedAgent);
  t.equal(idle.headers['keep-alive'], 'timeout=3');
  const idleClosed = socketClosed(idle.socket);

  app.process.kill('SIGTERM');
  await app.waitForLog('drain started');
  const again = await get(port, '/', reusedAgent);
  t.equal(again.socket, reused.socket, 'the pre-shutdown socket was reused after listening stopped');
  t.equal(again.status, 200, 'and the request on it was served');
  t.equal(again.headers.connection, 'close');

  const closedAt = await idleClosed;
  // The server's clock starts when it finished the response, a little before we saw it.
  t.ok(closedAt - idleSince >= keepAliveMs - 250, `idle socket closed ${closedAt - idleSince} ms after its last response (keepAliveTimeout ${keepAliveMs})`);
  t.equal((await app.exited).status, 0);
  const drained = record(app, 'drain complete');
  t.equal(drained.outcome, 'drained');
  t.equal(drained.closedIdle, 1, 'one socket closed as idle');
  reusedAgent.destroy();
});

t.test('the delay waits for a quiet window after the last new connection', async (t) => {
  const { app, port } = await startApp(t, { DEPUTY_DRAIN_DELAY: '300ms', DEPUTY_DRAIN_QUIET: '600ms' });
  app.process.kill('SIGTERM');
  await app.waitForLog('drain delay started');
  // New connections keep arriving for a while (as during endpoint propagation); all are served.
  let lastConnectionAt = 0;
  for (let i = 0; i < 4; i++) {
    lastConnectionAt = Date.now();
    t.equal((await get(port, '/')).status, 200, `connection ${i} during the delay served`);
    await new Promise((resolve) => setTimeout(resolve, 250)); // traffic pattern, not synchronisation
  }
  t.equal((await app.exited).status, 0);
  const ended = record(app, 'drain delay ended');
  t.equal(ended.reason, 'quiet');
  t.ok((ended.lastConnectionAgoMs as number) >= 600, `ended ${String(ended.lastConnectionAgoMs)} ms after the last connection`);
  t.ok(Date.parse(String(ended.time)) >= lastConnectionAt + 600 - 50, 'not before the quiet window after the last connection');
});

t.test('probe connections and connections that send nothing do not hold the delay open', async (t) => {
  // Delay 1 s, quiet window 1.5 s, cap 2.5 s (grace 10 s). Probes (a fresh connection each, as
  // the kubelet opens) and bare TCP connects keep arriving until the delay ends; were they
  // counted as traffic, the delay would run to its cap.
  const { app, port } = await startApp(t, { DEPUTY_DRAIN_DELAY: '1s', DEPUTY_DRAIN_QUIET: '1500ms', DEPUTY_GRACE_PERIOD: '10s' });
  app.process.kill('SIGTERM');
  await app.waitForLog('drain delay started');
  let ended = false;
  const endedLog = app.waitForLog('drain delay ended').finally(() => (ended = true));
  let probes = 0;
  while (!ended) {
    const tcpCheck = netConnect(port, '127.0.0.1');
    tcpCheck.on('error', () => {});
    await new Promise((resolve) => tcpCheck.once('connect', resolve).once('close', resolve));
    tcpCheck.destroy();
    try {
      const probe = await get(port, '/readyz');
      if (probe.status === 503 && !ended) probes += 1;
    } catch {
      break; // listening stopped
    }
  }
  const delay = await endedLog;
  t.ok(probes > 0, `${probes} probe connections answered during the delay`);
  t.equal(delay.reason, 'quiet', 'the delay ended at drainDelayMs, not at its cap');
  t.ok((delay.durationMs as number) < 2500, `after ${String(delay.durationMs)} ms`);
  t.equal((await app.exited).status, 0);
});

t.test('the delay is capped when connections never stop', async (t) => {
  // Grace 2 s, the handler's share min(5 s, 1 s) = 1 s: the drain may use 1 s, the delay half of it.
  const { app, port } = await startApp(t, { DEPUTY_DRAIN_QUIET: '10s', DEPUTY_GRACE_PERIOD: '2s' });
  t.equal((await get(port, '/')).status, 200, 'a connection just before shutdown');
  app.process.kill('SIGTERM');
  // New connections keep coming until listening stops (bounded: the app exits within 2 s).
  let served = 0;
  let refused = false;
  while (!refused) {
    try {
      if ((await get(port, '/')).status === 200) served += 1;
    } catch {
      refused = true;
    }
  }
  t.ok(served > 0, `${served} connections served during the delay`);
  t.equal((await app.exited).status, 0);
  const ended = record(app, 'drain delay ended');
  t.equal(ended.reason, 'cap');
  t.equal(ended.level, 'warn');
  t.equal(record(app, 'drain delay started').capMs, 500, 'cap is half the time the drain may use');
  t.match(ended.msg, /periodSeconds × failureThreshold/, 'the cap warning says what to check');
});

t.test('a drain delay longer than the budget still leaves the drain time to finish in-flight requests', async (t) => {
  // Grace 3 s, handlers' share min(1 s, 1.5 s): delay and drain share 2 s. A 3 s delay is cut so
  // that the drain keeps max(1 s, 2 s / 4) = 1 s; before, the delay ran to the drain deadline and
  // the request in flight was cut.
  const { app, port } = await startApp(t, { DEPUTY_GRACE_PERIOD: '3s', TIMEOUT_MS: '1000', DEPUTY_DRAIN_DELAY: '3s' });
  const slow = get(port, '/slow?ms=1600');
  await app.waitForLog('slow request started');
  app.process.kill('SIGTERM');
  const answer = await slow;
  t.equal(answer.status, 200, 'the request in flight completes during the drain');
  t.equal(answer.body, 'slow 1600\n');
  t.equal((await app.exited).status, 0);
  const warning = record(app, 'does not fit');
  t.equal(warning.level, 'warn', 'warned at shutdown start');
  t.match(warning.msg, /DEPUTY_DRAIN_DELAY \(3000 ms\).*cut to 1000 ms.*DEPUTY_GRACE_PERIOD/, 'naming both variables');
  t.equal(record(app, 'drain delay started').capMs, 1000, 'the delay ends 1 s before the drain deadline');
  t.equal(record(app, 'drain delay ended').reason, 'cap');
  const drained = record(app, 'drain complete');
  t.equal(drained.outcome, 'drained');
  t.equal(drained.requestsCut, 0);
});

t.test('at the drain deadline what is left is destroyed and counted; handlers still run; exit 0', async (t) => {
  const { app, port } = await startApp(t, { DEPUTY_GRACE_PERIOD: '1600ms', TIMEOUT_MS: '800' });
  const slow = get(port, '/slow?ms=20000');
  await app.waitForLog('slow request started');
  app.process.kill('SIGTERM');
  await t.rejects(slow, { code: 'ECONNRESET' }, 'the request still running at the deadline is cut');
  t.equal((await app.exited).status, 0);
  const drained = record(app, 'drain deadline reached');
  t.equal(drained.outcome, 'deadline');
  t.equal(drained.destroyed, 1);
  t.equal(drained.requestsCut, 1);
  t.equal(drained.level, 'warn');
  t.match(drained.msg, /raise DEPUTY_GRACE_PERIOD together with the pod's terminationGracePeriodSeconds, or make long requests shorter/, 'says what to do');
  t.ok(logIndex(app.logs, 'handler started') > logIndex(app.logs, 'drain deadline reached'), 'handlers after the drain');
  t.ok((record(app, 'shutdown handlers started').timeoutMs as number) <= 800, 'handlers get at most their own timeout');
});

t.test('handlers get min(shutdownHandlerTimeoutMs, what is left of the grace period)', async (t) => {
  const { app } = await startApp(t, { DEPUTY_GRACE_PERIOD: '600ms', TIMEOUT_MS: '5000', HANDLER: 'hang' });
  app.process.kill('SIGTERM');
  t.equal((await app.exited).status, 1, 'a hung handler → failureExitCode');
  const started = record(app, 'shutdown handlers started');
  t.ok((started.timeoutMs as number) <= 600, `handler timeout ${String(started.timeoutMs)} ms fits in the grace period`);
  const timedOut = record(app, 'did not finish within');
  t.match(timedOut.msg, /did not finish within \d+ ms: handler 1 of 1 \(shutdownHandler\) was still running; .*raise shutdownHandlerTimeoutMs/, 'names the handler and what to raise');
  t.same(timedOut.handler, { index: 0, name: 'shutdownHandler' });
});

/** A raw socket that sends `head` and resolves once the response head has come back. */
async function tunnel(port: number, head: string): Promise<Socket> {
  const socket = netConnect(port, '127.0.0.1');
  socket.on('error', () => {});
  socket.write(head);
  let received = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      received += chunk.toString('latin1');
      if (received.includes('\r\n\r\n')) {
        socket.off('data', onData);
        resolve();
      }
    };
    socket.on('data', onData);
    socket.once('close', () => reject(new Error(`closed before the response head: ${received}`)));
  });
  return socket;
}

/** Resolves with what the echoing peer sent back, or rejects if the socket closes first. */
function echo(socket: Socket, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    if (socket.destroyed) return reject(new Error('socket already closed'));
    socket.once('data', (chunk: Buffer) => resolve(chunk.toString()));
    socket.once('close', () => reject(new Error('socket closed')));
    socket.write(text);
  });
}

t.test('upgraded connections (WebSocket, CONNECT) are never closed as idle: they last until closed or the deadline', async (t) => {
  // keepAliveTimeout 500 ms and a 600 ms delay: when the drain starts both upgraded sockets are
  // older than the Keep-Alive hint, so an idle close would hit them at once. Grace 4 s, the
  // handler's share 2 s: the drain deadline is 2 s after SIGTERM.
  const { app, port } = await startApp(t, { KEEP_ALIVE_MS: '500', DEPUTY_DRAIN_DELAY: '600ms', DEPUTY_GRACE_PERIOD: '4s' });
  const ws = await tunnel(port, 'GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n');
  const connect = await tunnel(port, 'CONNECT example.test:443 HTTP/1.1\r\nHost: example.test:443\r\n\r\n');
  t.teardown(() => {
    ws.destroy();
    connect.destroy();
  });
  const connectClosed = socketClosed(connect);
  app.process.kill('SIGTERM');
  const started = await app.waitForLog('drain started');
  t.equal(started.upgraded, 2, 'the drain start counts the upgraded connections');
  t.match(started.msg, /2 upgraded \(WebSocket\/CONNECT\) connections, which stay open until the app closes them or the drain deadline/);
  t.equal(await echo(ws, 'ping'), 'ping', 'the upgraded socket still works during the drain');
  t.equal(await echo(connect, 'pong'), 'pong', 'the CONNECT tunnel still works during the drain');
  ws.end(); // the WebSocket ends on its own; the tunnel stays until the deadline
  const closedAt = await connectClosed;
  t.equal((await app.exited).status, 0);
  const drained = record(app, 'drain deadline reached');
  t.ok(closedAt >= Date.parse(String(drained.time)) - 100, 'the tunnel was closed at the deadline, not before');
  t.equal(drained.upgraded, 2);
  t.equal(drained.upgradedClosed, 1, 'the one that ended on its own');
  t.equal(drained.upgradedCut, 1, 'the one cut at the deadline');
  t.equal(drained.destroyed, 1);
  t.equal(drained.closedIdle, 0, 'none counted as idle');
  t.match(drained.msg, /1 upgraded \(WebSocket\/CONNECT\) connections/);
});

t.test('slow or malformed clients during the drain cannot extend it', async (t) => {
  const { app, port } = await startApp(t, { KEEP_ALIVE_MS: '500', DEPUTY_GRACE_PERIOD: '20s' });
  const slowloris = netConnect(port, '127.0.0.1');
  await new Promise((resolve) => slowloris.once('connect', resolve));
  slowloris.on('error', () => {});
  slowloris.write('GET / HTTP/1.1\r\nHost: x\r\n');
  const trickle = setInterval(() => slowloris.writable && slowloris.write('X-A: b\r\n'), 100);
  t.teardown(() => clearInterval(trickle));
  const garbage = netConnect(port, '127.0.0.1');
  garbage.on('error', () => {});
  garbage.write('NOT HTTP AT ALL\r\n\r\n');
  app.process.kill('SIGTERM');
  const { status } = await app.exited;
  clearInterval(trickle);
  t.equal(status, 0);
  const drained = record(app, 'drain complete');
  t.equal(drained.outcome, 'drained', 'drained long before the 20 s deadline');
  t.equal(drained.destroyed, 0);
  slowloris.destroy();
  garbage.destroy();
});

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

t.test('drain options from the environment', async (t) => {
  const { app } = await startApp(t, { KUBERNETES_SERVICE_HOST: '10.0.0.1', DEPUTY_DRAIN_DELAY: '', DEPUTY_DRAIN_QUIET: '' });
  app.process.kill('SIGTERM');
  const started = await app.waitForLog('drain delay started');
  t.equal(started.drainDelayMs, 5000, 'default delay 5 s in Kubernetes');
  t.equal(started.drainQuietMs, 1000, 'default quiet window 1 s');
  t.equal(record(app, 'shutdown started').gracePeriodMs, 30_000, 'default grace period 30 s');

  const bad = spawnFixture(t, 'drain-app.js', { DEPUTY_IPC_DIR: tempIpcDir(t), DEPUTY_DRAIN_DELAY: 'soon' });
  t.not((await bad.exited).status, 0, 'a malformed duration stops the app');
  t.ok(bad.logs.some((r) => typeof r.msg === 'string' && r.msg.includes('DEPUTY_DRAIN_DELAY: invalid duration "soon"')), 'naming the variable');
});

t.test('option validation', async (t) => {
  const { Deputy } = await import('../src/sdk/deputy.js');
  const { UsageError } = await import('../src/contract/errors.js');
  for (const option of ['gracePeriodMs', 'drainDelayMs', 'drainQuietMs']) {
    t.throws(() => new Deputy({ [option]: -1 }), UsageError, `${option} < 0 rejected`);
    t.throws(() => new Deputy({ [option]: 1.5 }), { message: new RegExp(`^${option} must be an integer`) });
  }
  const restore = setEnv('DEPUTY_GRACE_PERIOD', '10 minutes');
  t.teardown(restore);
  t.throws(() => new Deputy(), { message: /^DEPUTY_GRACE_PERIOD: invalid duration/ }, 'a malformed env value names the variable');
  t.doesNotThrow(() => new Deputy({ gracePeriodMs: 1000 }), 'an option in code wins over the environment');
  t.throws(() => new Deputy({ gracePeriodMs: 1000 }).attach({} as never), TypeError, 'attach() takes a server');
});
