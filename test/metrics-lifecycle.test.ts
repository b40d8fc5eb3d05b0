// Prometheus metrics through a real prom-client registry scraped over HTTP, their values: through
// the lifecycle (not started → ready → shutting down), attached-server connections, tracked work,
// shutdown phases and cut requests, and check results (timeouts, cache hits, liveness).
process.env.DEPUTY_LOG_LEVEL = 'silent';
import t from 'tap';
import { Agent, request } from 'node:http';
import type { Socket } from 'node:net';
import client from 'prom-client';
import { Deputy } from '../src/index.js';
import { spawnFixture } from './helpers.js';
import { get, serve } from './probe-http.js';
import { key, parse, scrape } from './metrics-helpers.js';

/** deputy_shutdown_phase_seconds by phase, for the phases present, in order. */
function phases(samples: Map<string, number>): Record<string, number | undefined> {
  const found: Record<string, number | undefined> = {};
  for (const phase of ['delay', 'drain', 'handlers']) {
    const value = samples.get(key('deputy_shutdown_phase_seconds', { phase }));
    if (value !== undefined) found[phase] = value;
  }
  return found;
}

function up(samples: Map<string, number>): Record<string, number | undefined> {
  return Object.fromEntries(['live', 'ready', 'startup'].map((probe) => [probe, samples.get(key('deputy_up', { probe }))]));
}

t.test('values follow the lifecycle: not started → ready → failing check → shutting down', async (t) => {
  const app = spawnFixture(t, 'metrics-app.js', { DEPUTY_DRAIN_QUIET: '0' });
  const serving = await app.waitForLog('serving');
  const port = serving.port as number;
  const appPort = serving.appPort as number;
  const db = (labels: Record<string, string> = {}): Record<string, string> => ({ check: 'db', probe: 'ready', ...labels });

  const answer = await get(port, '/metrics');
  t.equal(answer.status, 200);
  t.equal(answer.text.includes('# TYPE deputy_up gauge'), true);
  let m = parse(answer.text);
  t.same(up(m), { live: 1, ready: 0, startup: 0 }, 'not started');
  t.equal(m.get(key('deputy_shutting_down')), 0);
  t.equal(m.get(key('deputy_check_up', db())), undefined, 'no check_up before the check first ran');
  t.equal(m.get(key('app_check_runs_total')), 0, "the app's own metric is served beside ours");

  t.equal((await get(port, '/readyz')).status, 503, 'not started yet');
  m = await scrape(t, port);
  t.equal(m.get(key('deputy_check_up', db())), 1, 'the check passed');
  t.equal(m.get(key('deputy_check_duration_seconds_count', db())), 1, 'one run observed');
  t.equal(m.get(key('deputy_up', { probe: 'ready' })), 0, 'passing check, but not started');

  app.send('ready');
  await app.waitForLog((r) => r.phase === 'ready');
  m = await scrape(t, port);
  t.same(up(m), { live: 1, ready: 1, startup: 1 }, 'ready, from the last check result');
  m = await scrape(t, port);
  t.equal(m.get(key('app_check_runs_total')), 1, 'scrapes ran no check');
  t.equal(m.get(key('deputy_check_duration_seconds_count', db())), 1);

  app.send('db-fail');
  await app.waitForLog('db failing');
  const failing = await get(port, '/readyz');
  t.same([failing.status, failing.json.reasons], [503, ['db:down']]);
  m = await scrape(t, port);
  t.equal(m.get(key('deputy_check_up', db())), 0, 'the failing check shows');
  t.equal(m.get(key('deputy_check_failures_total', db({ reason: 'db:down' }))), 1, 'its failure is counted with the reason');
  t.equal(m.get(key('deputy_up', { probe: 'ready' })), 0);
  t.equal(m.get(key('deputy_up', { probe: 'live' })), 1, 'a readiness check leaves liveness alone');
  t.equal(m.get(key('deputy_check_duration_seconds_count', db())), 2);

  app.send('db-ok');
  await app.waitForLog('db ok');
  t.equal((await get(port, '/readyz')).status, 200);
  m = await scrape(t, port);
  t.equal(m.get(key('deputy_check_up', db())), 1);
  t.equal(m.get(key('deputy_check_failures_total', db({ reason: 'db:down' }))), 1, 'a counter: the failure stays counted');

  // Connections on the attached app server: one with a request held, one idle keep-alive, one upgraded.
  const heldAgent = new Agent({ keepAlive: true, maxSockets: 1 });
  const idleAgent = new Agent({ keepAlive: true, maxSockets: 1 });
  t.teardown(() => {
    heldAgent.destroy();
    idleAgent.destroy();
  });
  const heldAnswer = new Promise<{ status: number; connection: string | undefined }>((resolve, reject) => {
    request({ host: '127.0.0.1', port: appPort, path: '/hold', agent: heldAgent }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode!, connection: res.headers.connection }));
    })
      .on('error', reject)
      .end();
  });
  await app.waitForLog('request held');
  await new Promise<void>((resolve, reject) => {
    request({ host: '127.0.0.1', port: appPort, path: '/ok', agent: idleAgent }, (res) => res.resume().on('end', resolve))
      .on('error', reject)
      .end();
  });
  const upgraded = await new Promise<Socket>((resolve, reject) => {
    request({ host: '127.0.0.1', port: appPort, path: '/ws', agent: false, headers: { connection: 'Upgrade', upgrade: 'test' } })
      .on('upgrade', (_res, socket) => resolve(socket))
      .on('error', reject)
      .end();
  });
  t.teardown(() => upgraded.destroy());
  m = await scrape(t, port);
  t.equal(m.get(key('deputy_http_requests_in_flight')), 1, 'the held request is in flight');
  t.same(
    ['active', 'idle', 'upgraded'].map((state) => m.get(key('deputy_http_connections', { state }))),
    [1, 1, 1],
    'connections by state',
  );
  idleAgent.destroy();
  upgraded.destroy();

  app.send('track');
  await app.waitForLog('work tracked');
  m = await scrape(t, port);
  t.equal(m.get(key('deputy_tracked_work_in_flight')), 1, 'tracked work');
  t.equal(m.get(key('deputy_shutdown_requests_cut_total')), 0);
  t.same(phases(m), {}, 'no shutdown phase before shutdown');

  app.send('shutdown');
  await app.waitForLog((r) => r.phase === 'drain' && typeof r.msg === 'string' && r.msg.startsWith('drain started'));
  m = await scrape(t, port);
  t.equal(m.get(key('deputy_shutting_down')), 1, 'shutting down');
  t.same(up(m), { live: 1, ready: 0, startup: 1 }, 'readiness fails at once, liveness stays');
  t.equal(m.get(key('deputy_http_requests_in_flight')), 1, 'the drain waits for the held request');
  t.equal(m.get(key('deputy_tracked_work_in_flight')), 1, 'and for the tracked work');
  t.equal(m.get(key('deputy_check_up', db())), 1, 'the last check result stays');
  t.same(Object.keys(phases(m)), ['delay', 'drain'], 'delay and drain timed, the handlers not begun');

  app.send('release-request');
  t.same(await heldAnswer, { status: 200, connection: 'close' }, 'the held request finished');
  app.send('finish-work');
  await app.waitForLog('handler started');
  m = await scrape(t, port);
  t.equal(m.get(key('deputy_shutting_down')), 1);
  t.equal(m.get(key('deputy_http_requests_in_flight')), 0, 'drained');
  t.equal(m.get(key('deputy_tracked_work_in_flight')), 0, 'the tracked work finished');
  t.equal(m.get(key('deputy_shutdown_requests_cut_total')), 0, 'nothing cut');
  const during = phases(m);
  t.same(Object.keys(during), ['delay', 'drain', 'handlers']);
  const later = phases(await scrape(t, port));
  t.equal(later.drain, during.drain, 'a finished phase keeps its duration');
  t.ok(later.handlers! >= during.handlers!, 'the running phase counts up');
  app.send('release');
  t.equal((await app.exited).status, 0);
});

t.test('a drain deadline cuts a request: counted once cut, while the handlers run', async (t) => {
  // 2 s of grace with a handler: the handlers keep 1 s, delay and drain share the other 1 s.
  const app = spawnFixture(t, 'metrics-app.js', { DEPUTY_GRACE_PERIOD: '2s', DEPUTY_DRAIN_QUIET: '0' });
  const serving = await app.waitForLog('serving');
  const port = serving.port as number;
  const cut = new Promise<string>((resolve) => {
    request({ host: '127.0.0.1', port: serving.appPort as number, path: '/hold', agent: false }, () => resolve('answered'))
      .on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message))
      .end();
  });
  await app.waitForLog('request held');
  app.send('shutdown');
  await app.waitForLog('handler started');
  t.equal(await cut, 'ECONNRESET', 'the held request was cut');
  const m = await scrape(t, port);
  t.equal(m.get(key('deputy_shutdown_requests_cut_total')), 1, 'counted');
  t.equal(m.get(key('deputy_http_requests_in_flight')), 0);
  const timed = phases(m);
  t.same(Object.keys(timed), ['delay', 'drain', 'handlers']);
  t.ok(timed.delay! + timed.drain! >= 0.9 && timed.delay! + timed.drain! < 1.5, `delay and drain took their 1 s share (${timed.delay} + ${timed.drain} s)`);
  app.send('release');
  await app.exited;
});

t.test('check runs: timeouts counted with their reason, cache hits are not runs, liveness labelled live', async (t) => {
  const registry = new client.Registry();
  const deputy = new Deputy({ registry })
    .addReadinessCheck('slow', (signal) => new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason))), { timeoutMs: 50 })
    .addReadinessCheck('cached', () => undefined, { cacheMs: 60_000 })
    .addLivenessCheck('loop', () => {
      throw new Error('stalled');
    });
  deputy.readied();
  const port = await serve(t, deputy);
  for (let i = 0; i < 3; i += 1) t.equal((await get(port, '/readyz')).status, 503);
  t.equal((await get(port, '/livez')).status, 503);
  const m = await scrape(t, port);
  t.equal(m.get(key('deputy_check_failures_total', { check: 'slow', probe: 'ready', reason: 'slow:timeout' })), 3);
  t.equal(m.get(key('deputy_check_duration_seconds_count', { check: 'slow', probe: 'ready' })), 3);
  t.ok(m.get(key('deputy_check_duration_seconds_sum', { check: 'slow', probe: 'ready' }))! >= 0.15, 'a timed-out run counts its timeout');
  t.equal(m.get(key('deputy_check_duration_seconds_bucket', { check: 'slow', probe: 'ready', le: '0.025' })), 0);
  t.equal(m.get(key('deputy_check_duration_seconds_count', { check: 'cached', probe: 'ready' })), 1, 'cache hits are not runs');
  t.equal(m.get(key('deputy_check_up', { check: 'cached', probe: 'ready' })), 1);
  t.equal(m.get(key('deputy_check_failures_total', { check: 'loop', probe: 'live', reason: 'loop' })), 1, 'a plain error: reason is the check name');
  t.same(up(m), { live: 0, ready: 0, startup: 1 });
});
