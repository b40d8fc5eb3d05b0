// Readiness checks through real HTTP, in time: concurrency, timeouts and the abort signal, a hung
// call not joined and then given up on, caching and shared runs, and a check that does not keep
// the process alive.
process.env.DEPUTY_LOG_LEVEL = 'silent';
import t from 'tap';
import { Deputy, NotReady } from '../src/index.js';
import { spawnChild } from './helpers.js';
import { deferred, get, serve } from './probe-http.js';

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
