// Readiness and liveness checks through real HTTP, in detail: ?verbose lists every check with its
// duration and message, durations print with their unit, and DEPUTY_HEALTH_TOKEN gates the detail.
process.env.DEPUTY_LOG_LEVEL = 'silent';
import t from 'tap';
import { Deputy, NotReady } from '../src/index.js';
import { formatDuration } from '../src/sdk/check-result.js';
import { setEnv } from './helpers.js';
import { get, serve } from './probe-http.js';

t.test('?verbose lists every check: name, ok, duration, durationMs, message', async (t) => {
  const deputy = new Deputy()
    .addReadinessCheck('db', () => {
      throw new NotReady('unavailable', 'connect ECONNREFUSED 127.0.0.1:5432');
    })
    .addReadinessCheck('cache', () => undefined)
    .addLivenessCheck('loop', () => undefined);
  deputy.readied();
  const port = await serve(t, deputy);
  for (const query of ['?verbose', '?verbose=1', '?verbose=true', '?x=1&verbose']) {
    const answer = await get(port, `/readyz${query}`);
    t.equal(answer.status, 503, query);
    t.equal(answer.json.status, 'not_ready');
    t.same(answer.json.reasons, ['db:unavailable']);
    t.match(answer.json.checks, [
      { name: 'db', ok: false, durationMs: Number, duration: /^\d+(\.\d)?ms$/, message: 'connect ECONNREFUSED 127.0.0.1:5432', reason: 'db:unavailable' },
      { name: 'cache', ok: true, durationMs: Number, duration: /^\d+(\.\d)?ms$/, message: 'ok' },
    ]);
  }
  for (const query of ['', '?verbose=0', '?verbose=false']) t.notOk('checks' in (await get(port, `/readyz${query}`)).json, `no detail for "${query}"`);
  t.match((await get(port, '/livez?verbose')).json, { status: 'ok', checks: [{ name: 'loop', ok: true }] });
  t.same((await get(port, '/startupz?verbose')).json, { status: 'started', checks: [] });
});

t.test('durations print with their unit', async (t) => {
  const cases: Array<[number, string]> = [[0, '0ms'], [0.04, '0ms'], [0.44, '0.4ms'], [12, '12ms'], [999.94, '999.9ms'], [999.96, '1s'], [1250.4, '1.25s'], [61_000, '61s']];
  for (const [ms, text] of cases) t.equal(formatDuration(ms), text, `${ms} ms`);
});

t.test('DEPUTY_HEALTH_TOKEN gates the verbose detail, never the probe', async (t) => {
  t.teardown(setEnv('DEPUTY_HEALTH_TOKEN', 's3cret-token'));
  const deputy = new Deputy().addReadinessCheck('db', () => {
    throw new Error('password authentication failed for user "app"');
  });
  deputy.readied();
  const port = await serve(t, deputy);
  const plain = { status: 'not_ready', reasons: ['db'] };
  t.same((await get(port, '/readyz')).json, plain, 'probe answers without credentials');
  t.same((await get(port, '/readyz?verbose')).json, plain, 'no header: plain answer');
  t.same((await get(port, '/readyz?verbose', { authorization: 'Bearer wrong' })).json, plain, 'wrong token: plain answer');
  t.same((await get(port, '/readyz?verbose', { authorization: 'Bearer s3cret-token-longer' })).json, plain, 'longer token: plain answer');
  t.same((await get(port, '/readyz?verbose', { authorization: 'Basic s3cret-token' })).json, plain, 'other scheme: plain answer');
  const detailed = await get(port, '/readyz?verbose', { authorization: 'Bearer s3cret-token' });
  t.equal(detailed.status, 503);
  t.match(detailed.json.checks, [{ name: 'db', ok: false, message: /password authentication failed/ }]);
});
