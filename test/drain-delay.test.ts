// The drain's delay, with a real server (test/fixtures/drain-app.js in a child process), real
// clients and real signals: new connections are served and told to close, the delay waits for a
// quiet window that probes and bare connects do not hold open, and is capped.
import t from 'tap';
import { Agent } from 'node:http';
import { connect as netConnect } from 'node:net';
import { logIndex } from './helpers.js';
import { get, record, startApp } from './drain-helpers.js';

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
