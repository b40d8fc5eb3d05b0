// Readiness and liveness checks through real HTTP, what a probe answers: reasons in registration
// order, liveness apart from readiness, a probe that throws, no check during shutdown, and the
// validation of check registration.
process.env.DEPUTY_LOG_LEVEL = 'silent';
import t from 'tap';
import { Deputy, NotReady } from '../src/index.js';
import { spawnChild, spawnFixture } from './helpers.js';
import { get, serve } from './probe-http.js';

t.test('failing checks give 503 with <name> or <name>:<detail>, in registration order', async (t) => {
  const deputy = new Deputy()
    .addReadinessCheck('ok', () => 'fine')
    .addReadinessCheck('kafka', () => {
      throw new NotReady('results_not_connected', 'results consumer has no connection');
    })
    .addReadinessCheck('plain', async () => {
      throw new Error('boom');
    })
    .addReadinessCheck('sync-throw', () => {
      throw new TypeError('oops');
    });
  const port = await serve(t, deputy);
  let answer = await get(port, '/readyz');
  t.equal(answer.status, 503);
  t.same(answer.json, { status: 'not_ready', reasons: ['not_started', 'kafka:results_not_connected', 'plain', 'sync-throw'] });
  t.notMatch(answer.text, /boom|oops|no connection/, 'plain answers carry no error messages');
  deputy.readied();
  answer = await get(port, '/health/ready');
  t.same(answer.json.reasons, ['kafka:results_not_connected', 'plain', 'sync-throw'], 'not_started gone after readied()');
  t.equal((await get(port, '/livez')).status, 200, 'readiness checks do not touch liveness');
});

t.test('all checks passing: 200 ready', async (t) => {
  const deputy = new Deputy().addReadinessCheck('a', async () => undefined).addReadinessCheck('b', () => null);
  deputy.readied();
  const port = await serve(t, deputy);
  const answer = await get(port, '/readyz');
  t.same([answer.status, answer.json], [200, { status: 'ready' }]);
});

t.test('a thenable whose then() throws fails its check, not the probe', async (t) => {
  const deputy = new Deputy().addReadinessCheck('odd', () => ({
    then() {
      throw new Error('then exploded');
    },
  }));
  deputy.readied();
  const answer = await get(await serve(t, deputy), '/readyz?verbose');
  t.same([answer.status, answer.json.reasons], [503, ['odd']]);
  t.match(answer.json.checks, [{ name: 'odd', ok: false, message: 'then exploded' }]);
});

t.test('a probe that throws answers 500 and is logged', { timeout: 30_000 }, async (t) => {
  const sdk = JSON.stringify(new URL('../dist/index.js', import.meta.url).href);
  const script = `
    import { createServer } from 'node:http';
    import { withProbes } from ${sdk};
    const source = { probe: (kind) => (kind === 'live' ? Promise.reject(new Error('async bug')) : (() => { throw new Error('sync bug'); })()) };
    const server = createServer(withProbes(source, (req, res) => res.end())).listen(0, '127.0.0.1', () => {
      console.error(JSON.stringify({ msg: 'serving', port: server.address().port }));
    });`;
  const child = spawnChild(t, process.execPath, ['--input-type=module', '-e', script], { DEPUTY_LOG_LEVEL: 'info' });
  const port = (await child.waitForLog('serving')).port as number;
  t.same([(await get(port, '/readyz')).status, (await get(port, '/livez')).status], [500, 500]);
  t.match(await child.waitForLog((r) => r.probe === 'ready'), { level: 'error', err: { message: 'sync bug' } });
  t.match(await child.waitForLog((r) => r.probe === 'live'), { level: 'error', err: { message: 'async bug' } });
});

t.test('liveness checks fail liveness with not_live', async (t) => {
  let healthy = false;
  const deputy = new Deputy().addLivenessCheck('event-loop', () => {
    if (!healthy) throw new NotReady('stalled');
  });
  const port = await serve(t, deputy);
  const answer = await get(port, '/healthz');
  t.same([answer.status, answer.json], [503, { status: 'not_live', reasons: ['event-loop:stalled'] }]);
  t.equal((await get(port, '/readyz')).json.reasons.includes('event-loop:stalled'), false, 'liveness checks do not touch readiness');
  healthy = true;
  t.same((await get(port, '/livez')).json, { status: 'ok' });
});

t.test('checks do not run once shutdown has begun', async (t) => {
  const app = spawnFixture(t, 'checks-app.js');
  const port = (await app.waitForLog('serving')).port as number;
  app.send('ready');
  await app.waitForLog('ready');
  t.same((await get(port, '/readyz')).json, { status: 'not_ready', reasons: ['db:down'] });
  t.equal((await get(port, '/livez')).status, 503);
  app.send('shutdown');
  await app.waitForLog('handler started');
  const runsBefore = app.logs.filter((r) => r.msg === 'check ran').length;
  t.same((await get(port, '/readyz?verbose')).json, { status: 'not_ready', reasons: ['shutting_down'], checks: [] });
  t.same((await get(port, '/livez')).json, { status: 'ok' }, 'liveness stays green during shutdown');
  t.equal(app.logs.filter((r) => r.msg === 'check ran').length, runsBefore, 'no check ran during shutdown');
  app.send('release');
  t.equal((await app.exited).status, 0);
});

t.test('check registration is validated', async (t) => {
  const deputy = new Deputy().addReadinessCheck('db', () => undefined);
  t.throws(() => deputy.addReadinessCheck('db', () => undefined), { message: /a readiness check named db already exists/ });
  t.throws(() => deputy.addReadinessCheck('has space', () => undefined), { message: /readiness check name "has space" must match/ });
  t.throws(() => deputy.addLivenessCheck('x', 'nope' as never), { message: /liveness check x must be a function/ });
  t.throws(() => deputy.addReadinessCheck('t', () => undefined, { timeoutMs: -5 }), { message: /timeoutMs must be an integer/ });
  t.throws(() => deputy.addReadinessCheck('c', () => undefined, { cacheMs: 1.5 }), { message: /cacheMs must be an integer/ });
  t.throws(() => new NotReady('not a code'), { message: /NotReady detail "not a code" must match/ });
  t.doesNotThrow(() => deputy.addLivenessCheck('db', () => undefined), 'liveness and readiness names are separate');
});
