// Prometheus metrics through a real prom-client registry scraped over HTTP: values through the
// lifecycle (not started → ready → shutting down), check results, attached-server connections,
// the token gate, /metrics on the app's port, and prom-client never loaded without a registry.
process.env.DEPUTY_LOG_LEVEL = 'silent';
import t from 'tap';
import type { Test } from 'tap';
import { Agent, createServer, request } from 'node:http';
import type { Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import client from 'prom-client';
import Koa from 'koa';
import Fastify from 'fastify';
import deputyPlugin from '../src/fastify.js';
import { Deputy, NotReady, withProbes, koaProbes } from '../src/index.js';
import { ROOT, setEnv, spawnFixture } from './helpers.js';
import { get, listen, serve } from './probe-http.js';

/** Samples of an exposition, keyed `name{k="v",…}` with the labels sorted. */
function parse(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not an exposition line: ${line}`);
    const labels = [...(match[2] ?? '').matchAll(/([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"/g)].map((m) => `${m[1]}="${m[2]}"`).sort();
    samples.set(`${match[1]}{${labels.join(',')}}`, Number(match[3]));
  }
  return samples;
}

/** The key `parse` gives a sample. */
function key(name: string, labels: Record<string, string> = {}): string {
  return `${name}{${Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .sort()
    .join(',')}}`;
}

async function scrape(t: Test, port: number, headers: Record<string, string> = {}): Promise<Map<string, number>> {
  const answer = await get(port, '/metrics', headers);
  t.equal(answer.status, 200, 'scrape answered 200');
  return parse(answer.text);
}

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

t.test('DEPUTY_HEALTH_TOKEN gates /metrics (401 without, 200 with); probes stay open', async (t) => {
  t.teardown(setEnv('DEPUTY_HEALTH_TOKEN', 's3cret'));
  const deputy = new Deputy({ registry: new client.Registry() }).addReadinessCheck('db', () => {
    throw new NotReady('down', 'connection refused by db');
  });
  deputy.readied();
  const port = await serve(t, deputy);

  for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: 'Basic czNjcmV0' }, { authorization: 'Bearer s3cret-and-more' }]) {
    const answer = await get(port, '/metrics', headers);
    t.equal(answer.status, 401, `401 with ${JSON.stringify(headers)}`);
    t.same(answer.json, { error: 'unauthorized' });
    t.notMatch(answer.text, /deputy_/, 'no metrics leak');
  }
  const head = await new Promise<{ status: number; auth: unknown }>((resolve, reject) => {
    request({ host: '127.0.0.1', port, path: '/metrics', method: 'HEAD', agent: false }, (res) => {
      res.resume();
      resolve({ status: res.statusCode!, auth: res.headers['www-authenticate'] });
    })
      .on('error', reject)
      .end();
  });
  t.same(head, { status: 401, auth: 'Bearer' }, 'HEAD too, with WWW-Authenticate');
  const m = await scrape(t, port, { authorization: 'Bearer s3cret' });
  t.equal(m.get(key('deputy_up', { probe: 'live' })), 1, '200 with the token');

  t.equal((await get(port, '/healthz')).status, 200, 'liveness needs no token');
  const ready = await get(port, '/readyz?verbose');
  t.same([ready.status, ready.json], [503, { status: 'not_ready', reasons: ['db:down'] }], 'readiness needs no token; verbose detail still does');
  t.equal((await get(port, '/startupz')).status, 200, 'startup needs no token');
});

t.test('without a registry /metrics is 404 (or the app’s) and prom-client is never loaded', async (t) => {
  const app = spawnFixture(t, 'metrics-absent.js');
  const serving = await app.waitForLog('serving');
  const health = await get(serving.port as number, '/metrics');
  t.same([health.status, health.json], [404, { error: 'not_found' }], 'health server: 404');
  t.equal((await get(serving.port as number, '/readyz')).status, 200, 'the check ran');
  const onApp = await get(serving.appPort as number, '/metrics');
  t.same([onApp.status, onApp.text], [200, 'app answered /metrics'], 'app port: passed on to the app');
  app.send('modules');
  const modules = await app.waitForLog('modules');
  t.same(modules.promClient, [], 'no prom-client module loaded');
});

t.test('with a registry, /metrics is served on the app port too (node:http, Koa)', async (t) => {
  const registry = new client.Registry();
  const deputy = new Deputy({ registry });
  const plain = await listen(t, createServer(withProbes(deputy, (_req, res) => res.end('app'))));
  const koa = new Koa();
  koa.use(koaProbes(deputy));
  koa.use((ctx) => {
    ctx.body = 'koa app';
  });
  const koaPort = await listen(t, createServer(koa.callback()));
  for (const port of [plain, koaPort]) {
    const answer = await get(port, '/metrics?x=1');
    t.equal(answer.status, 200);
    t.equal(parse(answer.text).get(key('deputy_up', { probe: 'startup' })), 0);
    t.equal((await get(port, '/other')).status, 200, 'other paths pass on');
  }
  const post = await new Promise<number>((resolve, reject) => {
    request({ host: '127.0.0.1', port: plain, path: '/metrics', method: 'POST', agent: false }, (res) => resolve(res.resume().statusCode!))
      .on('error', reject)
      .end();
  });
  t.equal(post, 405, 'POST /metrics → 405');
});

t.test('the Fastify plugin serves /metrics with a registry, and leaves it to the app without', async (t) => {
  for (const registry of [new client.Registry(), undefined]) {
    const app = Fastify();
    t.teardown(() => app.close());
    await app.register(deputyPlugin, { deputy: new Deputy({ registry }), close: false });
    if (registry === undefined) app.get('/metrics', async () => 'app metrics');
    await app.listen({ port: 0, host: '127.0.0.1' });
    const answer = await get((app.server.address() as { port: number }).port, '/metrics');
    if (registry) t.equal(parse(answer.text).get(key('deputy_up', { probe: 'live' })), 1, 'with a registry: ours');
    else t.same([answer.status, answer.text], [200, 'app metrics'], "without: the app's route");
  }
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

t.test('an OpenMetrics registry gets its own content type', async (t) => {
  const registry = new client.Registry(client.Registry.OPENMETRICS_CONTENT_TYPE);
  const deputy = new Deputy({ registry }).addLivenessCheck('loop', () => {
    throw new Error('stalled');
  });
  const port = await serve(t, deputy);
  await get(port, '/livez');
  const answer = await new Promise<{ type: unknown; text: string }>((resolve, reject) => {
    request({ host: '127.0.0.1', port, path: '/metrics', agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ type: res.headers['content-type'], text }));
    })
      .on('error', reject)
      .end();
  });
  t.equal(answer.type, client.Registry.OPENMETRICS_CONTENT_TYPE);
  t.match(answer.text, /^deputy_check_failures_total\{check="loop",probe="live",reason="loop"\} 1$/m);
  t.match(answer.text, /# EOF\n$/);
});

t.test('a registry is checked: not a registry, or one another Deputy already uses', async (t) => {
  t.throws(() => new Deputy({ registry: {} as never }), { code: 'EDEPUTY_USAGE', message: /takes a prom-client Registry/ });
  const registry = new client.Registry();
  new Deputy({ registry });
  t.throws(() => new Deputy({ registry }), { code: 'EDEPUTY_USAGE', message: /already has a metric named deputy_up/ });
});

t.test('docs/metrics.md lists every metric with its type', async (t) => {
  const registry = new client.Registry();
  new Deputy({ registry });
  const docs = readFileSync(join(ROOT, 'docs', 'metrics.md'), 'utf8');
  const metrics = await registry.getMetricsAsJSON();
  t.ok(metrics.length >= 10);
  for (const metric of metrics) {
    t.match(docs, new RegExp(`^\\| \`${metric.name}\` \\| ${metric.type} \\|`, 'm'), `${metric.name} (${metric.type}) is in the table`);
  }
});
