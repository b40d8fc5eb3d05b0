// The load-shedding checks through real HTTP probes: memoryCheck's bounds and refresh, option
// validation of both. The event loop check against a really blocked loop is in shutdown.test.ts.
process.env.DEPUTY_LOG_LEVEL = 'silent';
import t from 'tap';
import { Deputy, eventLoopCheck, memoryCheck } from '../src/index.js';
import { get, serve } from './probe-http.js';

t.test('memoryCheck: 503 with <name>:memory over a bound, 200 under it', async (t) => {
  const deputy = new Deputy()
    .addReadinessCheck('rss', memoryCheck({ maxRssBytes: 1 }))
    .addReadinessCheck('heap', memoryCheck({ maxHeapUsedBytes: 1 }))
    .addReadinessCheck('roomy', memoryCheck({ maxRssBytes: 2 ** 40, maxHeapUsedBytes: 2 ** 40 }));
  deputy.readied();
  const port = await serve(t, deputy);
  const answer = await get(port, '/readyz?verbose');
  t.equal(answer.status, 503);
  t.same(answer.json.reasons, ['rss:memory', 'heap:memory']);
  t.match(answer.json.checks[0].message, /^resident set \d+ MiB is over the bound of 0 MiB$/);
  t.match(answer.json.checks[1].message, /^used heap \d+ MiB is over the bound of 0 MiB$/);
  t.equal(answer.json.checks[2].ok, true);
});

t.test('memoryCheck reuses a reading for refreshMs', async (t) => {
  const used = process.memoryUsage().heapUsed;
  const check = memoryCheck({ maxHeapUsedBytes: used + 64 * 1024 * 1024, refreshMs: 60_000 });
  t.doesNotThrow(() => check(new AbortController().signal), 'under the bound');
  const ballast = Array.from({ length: 200 }, () => new Array(100_000).fill(1.5));
  t.ok(process.memoryUsage().heapUsed > used + 64 * 1024 * 1024, 'now over the bound');
  t.doesNotThrow(() => check(new AbortController().signal), 'the reading is reused within refreshMs');
  const fresh = memoryCheck({ maxHeapUsedBytes: used + 64 * 1024 * 1024, refreshMs: 0 });
  t.throws(() => fresh(new AbortController().signal), { name: 'NotReady', detail: 'memory' }, 'a fresh reading sees it');
  t.ok(ballast.length > 0);
});

t.test('option validation', async (t) => {
  t.throws(() => memoryCheck({}), { message: /needs maxRssBytes, maxHeapUsedBytes or both/ });
  t.throws(() => memoryCheck({ maxRssBytes: -1 }), { message: /maxRssBytes must be an integer/ });
  // @ts-expect-error: the bound is required
  t.throws(() => eventLoopCheck({}), { message: /needs the bound/ });
  t.throws(() => eventLoopCheck({ maxDelayMs: 1.5 }), { message: /maxDelayMs must be an integer/ });
  t.throws(() => eventLoopCheck({ maxDelayMs: 100, windowMs: 10, resolutionMs: 20 }), { message: /resolutionMs must be from 1 to windowMs/ });
  t.type(eventLoopCheck({ maxDelayMs: 100 }), 'function');
});

t.test('eventLoopCheck passes on a free loop', async (t) => {
  const deputy = new Deputy().addReadinessCheck('loop', eventLoopCheck({ maxDelayMs: 1000 }));
  deputy.readied();
  const port = await serve(t, deputy);
  t.same((await get(port, '/readyz')).json, { status: 'ready' });
});
