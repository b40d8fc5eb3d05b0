// The drain within the grace period, with a real server (test/fixtures/drain-app.js in a child
// process) and real signals: a long delay is cut so the drain keeps its time, what is left at the
// drain deadline is destroyed and counted, handlers get what remains; the options from the
// environment and their validation.
import t from 'tap';
import { logIndex, setEnv, spawnFixture, tempIpcDir } from './helpers.js';
import { get, record, startApp } from './drain-helpers.js';

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
