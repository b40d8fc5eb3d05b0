// Prometheus metrics, where /metrics is served: the token gate, /metrics on the app's port
// (node:http, Koa, the Fastify plugin), prom-client never loaded without a registry, the
// OpenMetrics content type, registries checked, and docs/metrics.md against the registry.
process.env.DEPUTY_LOG_LEVEL = 'silent';
import t from 'tap';
import { createServer, request } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import client from 'prom-client';
import Koa from 'koa';
import Fastify from 'fastify';
import deputyPlugin from '../src/fastify.js';
import { Deputy, NotReady, withProbes, koaProbes } from '../src/index.js';
import { ROOT, setEnv, spawnFixture } from './helpers.js';
import { get, listen, serve } from './probe-http.js';
import { key, parse, scrape } from './metrics-helpers.js';

t.test('DEPUTY_HEALTH_TOKEN gates /metrics (401 without, 200 with); probes stay open', async (t) => {
  t.teardown(setEnv('DEPUTY_HEALTH_TOKEN', 's3cret'));
  const deputy = new Deputy({ registry: new client.Registry() }).addReadinessCheck('db', () => {
    throw new NotReady('down', 'connection refused by db');
  });
  deputy.readied();
  const port = await serve(t, deputy);

  const wrong: Record<string, string>[] = [{}, { authorization: 'Bearer wrong' }, { authorization: 'Basic czNjcmV0' }, { authorization: 'Bearer s3cret-and-more' }];
  for (const headers of wrong) {
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

t.test('an OpenMetrics registry gets its own content type', async (t) => {
  const registry = new client.Registry<typeof client.Registry.OPENMETRICS_CONTENT_TYPE>();
  registry.setContentType(client.Registry.OPENMETRICS_CONTENT_TYPE);
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
