// Readiness and liveness checks through real HTTP: reasons, concurrency, timeouts, caching,
// ?verbose and its token gate, and the same semantics on the app's own port (node:http, Express, Koa).
process.env.DEPUTY_LOG_LEVEL = 'silent';
import t from 'tap';
import type { Test } from 'tap';
import { createServer } from 'node:http';
import express from 'express';
import Koa from 'koa';
import { Deputy, NotReady, withProbes, expressProbes, koaProbes } from '../src/index.js';
import { formatDuration } from '../src/sdk/check-result.js';
import { setEnv, spawnChild, spawnFixture } from './helpers.js';
import { deferred, get, listen, serve } from './probe-http.js';

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

t.test('checks run concurrently', async (t) => {
  // Each check finishes only once the other has started: run one after the other, they would
  // both time out instead.
  const startedA = deferred();
  const startedB = deferred();
  const deputy = new Deputy()
    .addReadinessCheck('a', async () => {
      startedA.resolve();
      await startedB.promise;
    }, { timeoutMs: 5000 })
    .addReadinessCheck('b', async () => {
      startedB.resolve();
      await startedA.promise;
    }, { timeoutMs: 5000 });
  deputy.readied();
  const port = await serve(t, deputy);
  t.same((await get(port, '/readyz')).json, { status: 'ready' });
});

t.test('a hung check fails with <name>:timeout, bounded by its timeout, and its signal aborts', async (t) => {
  let aborted: unknown;
  const deputy = new Deputy()
    .addReadinessCheck('hung', (signal) => {
      signal.addEventListener('abort', () => (aborted = signal.reason));
      return new Promise(() => {});
    }, { timeoutMs: 200 })
    .addReadinessCheck('fast', () => undefined);
  deputy.readied();
  const port = await serve(t, deputy);
  const started = performance.now();
  const answer = await get(port, '/readyz?verbose');
  const elapsed = performance.now() - started;
  t.equal(answer.status, 503);
  t.same(answer.json.reasons, ['hung:timeout']);
  t.ok(elapsed >= 190, `waited for the timeout (${Math.round(elapsed)} ms)`);
  t.ok(elapsed < 200 + 1000, `answered ${Math.round(elapsed)} ms after the request (timeout 200 ms)`);
  t.match(answer.json.checks[0], { name: 'hung', ok: false, message: 'no answer within 200 ms', duration: /^(19\d|2\d\d)(\.\d)?ms$/ });
  t.type(aborted, NotReady, 'the check was told to give up');
});

t.test('a call that timed out is not joined by another until it settles', async (t) => {
  let calls = 0;
  let release = deferred();
  const deputy = new Deputy().addReadinessCheck('db', async () => {
    calls += 1;
    await release.promise;
  }, { timeoutMs: 200 });
  deputy.readied();
  const port = await serve(t, deputy);
  // The first probe waits out the timeout; the rest, sequential and concurrent, come while the
  // call still hangs.
  const timed = async (): Promise<number> => {
    const started = performance.now();
    const answer = await get(port, '/readyz?verbose');
    t.same([answer.status, answer.json.reasons], [503, ['db:timeout']]);
    t.match(answer.json.checks, [{ name: 'db', ok: false, reason: 'db:timeout' }]);
    return performance.now() - started;
  };
  // Generous bounds (the +50 ms figure is measured in bench/probes, not asserted under CI load):
  // what matters here is that later probes do not wait out a timeout of their own.
  t.ok((await timed()) < 200 + 1000, 'first probe answered after the timeout');
  for (let i = 0; i < 3; i += 1) t.ok((await timed()) < 200, `probe ${i + 2} answered at once, without a new call's timeout`);
  for (const elapsed of await Promise.all([timed(), timed(), timed()])) t.ok(elapsed < 200, 'concurrent probe answered at once');
  t.equal(calls, 1, 'one call in flight for seven probes');
  release.resolve();
  release = deferred();
  release.resolve();
  t.same((await get(port, '/readyz')).json, { status: 'ready' }, 'a new call once the hung one settled');
  t.equal(calls, 2);
});

t.test('a call that never settles is given up on after 10 timeouts', async (t) => {
  const starts: number[] = [];
  const deputy = new Deputy().addReadinessCheck('lost', () => {
    starts.push(performance.now());
    return new Promise(() => {}); // a lost callback: never settles
  }, { timeoutMs: 100 });
  deputy.readied();
  const port = await serve(t, deputy);
  t.same((await get(port, '/readyz')).json.reasons, ['lost:timeout']);
  t.same((await get(port, '/readyz')).json.reasons, ['lost:timeout']);
  t.equal(starts.length, 1, 'no second call within 10 timeouts');
  // The rule is about elapsed time, so this waits for the time itself to pass.
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, starts[0]! + 10 * 100 + 5 - performance.now())));
  t.same((await get(port, '/readyz')).json.reasons, ['lost:timeout']);
  t.equal(starts.length, 2, 'a new call once the hung one is given up on');
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

t.test('every async check gets a signal that aborts, whatever its declared parameters', async (t) => {
  const reasons: unknown[] = [];
  const hang = (signal?: AbortSignal): Promise<void> => {
    signal?.addEventListener('abort', () => reasons.push(signal.reason));
    return new Promise(() => {});
  };
  const deputy = new Deputy()
    // Neither declares a parameter (Function.length is 0).
    .addReadinessCheck('rest', (...args: [AbortSignal]) => hang(...args), { timeoutMs: 100 })
    .addReadinessCheck('default', (signal: AbortSignal = AbortSignal.abort()) => hang(signal), { timeoutMs: 100 });
  deputy.readied();
  const answer = await get(await serve(t, deputy), '/readyz');
  t.same(answer.json.reasons, ['rest:timeout', 'default:timeout']);
  t.equal(reasons.length, 2, 'both signals aborted');
  for (const reason of reasons) t.type(reason, NotReady);

  // A parameterless check's signal is reused after runs that settled in time: it must still be
  // unaborted when handed out, and abort when a later run times out.
  const abortedAtCall: boolean[] = [];
  let hangNext = false;
  const reused = new Deputy().addReadinessCheck('reused', (...args: [AbortSignal]) => {
    abortedAtCall.push(args[0].aborted);
    return hangNext ? hang(args[0]) : Promise.resolve();
  }, { timeoutMs: 100 });
  reused.readied();
  const port = await serve(t, reused);
  t.same((await get(port, '/readyz')).json, { status: 'ready' });
  t.same((await get(port, '/readyz')).json, { status: 'ready' });
  hangNext = true;
  reasons.length = 0;
  t.same((await get(port, '/readyz')).json.reasons, ['reused:timeout']);
  t.same(abortedAtCall, [false, false, false], 'never handed out an aborted signal');
  t.equal(reasons.length, 1, 'the hung run was told to give up');
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

t.test('cacheMs reuses a result; concurrent probes share one run', async (t) => {
  let cachedCalls = 0;
  let uncachedCalls = 0;
  let heldCalls = 0;
  const release = deferred();
  const deputy = new Deputy()
    .addReadinessCheck('cached', () => void (cachedCalls += 1), { cacheMs: 60_000 })
    .addReadinessCheck('uncached', () => void (uncachedCalls += 1));
  deputy.readied();
  const port = await serve(t, deputy);
  await get(port, '/readyz');
  const second = await get(port, '/readyz?verbose');
  t.equal(cachedCalls, 1, 'cached check ran once for two probes');
  t.equal(uncachedCalls, 2, 'uncached check ran on each probe');
  t.match(second.json.checks, [{ name: 'cached', ok: true, cached: true }, { name: 'uncached', ok: true }]);
  t.notOk(second.json.checks[1].cached);

  const held = new Deputy().addReadinessCheck('held', async () => {
    heldCalls += 1;
    await release.promise;
  }, { timeoutMs: 10_000 });
  held.readied();
  const server = await held.serve({ host: '127.0.0.1', port: 0 });
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  // The Deputy's listener runs before this one: once both requests are seen, both have probed.
  const bothArrived = deferred();
  let arrived = 0;
  server.on('request', () => void (++arrived === 2 && bothArrived.resolve()));
  const heldPort = (server.address() as { port: number }).port;
  const answers = Promise.all([get(heldPort, '/readyz'), get(heldPort, '/readyz')]);
  await bothArrived.promise;
  release.resolve();
  const [a, b] = await answers;
  t.same([a.status, b.status], [200, 200]);
  t.equal(heldCalls, 1, 'both probes shared one run');
});

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

/** Asserts the app-port endpoints answer like the health server and pass everything else on. */
async function assertAppPort(t: Test, port: number, deputy: Deputy, ready: { value: boolean }): Promise<void> {
  ready.value = false;
  let answer = await get(port, '/readyz');
  t.same([answer.status, answer.json], [503, { status: 'not_ready', reasons: ['not_started', 'dep:down'] }]);
  answer = await get(port, '/readyz?verbose');
  t.match(answer.json.checks, [{ name: 'dep', ok: false, message: 'dependency is down' }]);
  deputy.readied();
  ready.value = true;
  t.same((await get(port, '/readyz')).json, { status: 'ready' });
  t.same((await get(port, '/livez')).json, { status: 'ok' });
  const other = await get(port, '/orders/42');
  t.same([other.status, other.text], [200, 'app: /orders/42'], 'other paths reach the app');
}

function appDeputy(): { deputy: Deputy; ready: { value: boolean } } {
  const ready = { value: false };
  const deputy = new Deputy().addReadinessCheck('dep', () => {
    if (!ready.value) throw new NotReady('down', 'dependency is down');
  });
  return { deputy, ready };
}

t.test('on the app port: node:http withProbes', async (t) => {
  const { deputy, ready } = appDeputy();
  const server = createServer(withProbes(deputy, (req, res) => res.end(`app: ${req.url}`)));
  await assertAppPort(t, await listen(t, server), deputy, ready);
});

t.test('on the app port: Express middleware', async (t) => {
  const { deputy, ready } = appDeputy();
  const app = express();
  app.use(expressProbes(deputy));
  app.get('/orders/:id', (req, res) => void res.type('text/plain').send(`app: ${req.url}`));
  await assertAppPort(t, await listen(t, createServer(app)), deputy, ready);
});

t.test('on the app port: Koa middleware', async (t) => {
  const { deputy, ready } = appDeputy();
  const app = new Koa();
  let sawProbeFinish = false;
  app.use(async (ctx, next) => {
    await next();
    if (ctx.url.startsWith('/readyz')) sawProbeFinish = ctx.res.writableEnded;
  });
  app.use(koaProbes(deputy));
  app.use((ctx) => {
    ctx.body = `app: ${ctx.url}`;
  });
  await assertAppPort(t, await listen(t, createServer(app.callback())), deputy, ready);
  t.ok(sawProbeFinish, 'outer Koa middleware resumes after the probe answer is sent');
});

t.test('a check that answered does not keep the process alive until its timeout', { timeout: 30_000 }, async (t) => {
  const sdk = JSON.stringify(new URL('../dist/index.js', import.meta.url).href);
  const script = `
    import { Deputy } from ${sdk};
    const deputy = new Deputy().addReadinessCheck('quick', async () => {}, { timeoutMs: 600000 });
    deputy.readied();
    const answer = await deputy.probe('ready');
    console.error(JSON.stringify({ msg: 'probed', statusCode: answer.statusCode }));`;
  const child = spawnChild(t, process.execPath, ['--input-type=module', '-e', script]);
  t.equal((await child.waitForLog('probed')).statusCode, 200);
  // Held by a 10-minute timer, the child would outlive this test's 30 s timeout.
  t.equal((await child.exited).status, 0, 'exits by itself once the probe is answered');
});
