// deputy supervise, black box, termination flows: SIGTERM becomes terminate over the socket to
// the app (found through the pid file behind a shell), the timeout kills the child's process
// group with DEPUTY_TIMEOUT_EXIT_CODE, and a second Ctrl-C kills at once. Run as a real PID 1
// (test/supervisor-helpers.ts), signalled from outside the namespace.
import t from 'tap';
import { logIndex, waitForStdout } from './helpers.js';
import { NODE, fixture, msgIs, pid1Unavailable, stateOf, supervise } from './supervisor-helpers.js';

const unavailable = pid1Unavailable();
const skip = unavailable ? `cannot run the supervisor as PID 1: ${unavailable}` : false;
if (unavailable && process.env.CI === 'true') t.fail(`${skip} (a skip is a failure when CI=true)`);

t.test('SIGTERM → terminate over the socket → the app\'s callback; its exit code passes through', { skip }, async (t) => {
  const supervised = await supervise(t, ['--', NODE, fixture('terminator-app.js')], { env: { EXIT_CODE: '42' } });
  await supervised.waitForLog('registered');
  supervised.kill('SIGTERM');
  await supervised.waitForLog('callback ran');
  t.equal((await supervised.exited).status, 42);
  const sent = supervised.logs.find(msgIs('terminate sent', { via: 'socket' }));
  t.ok(sent, 'sent over the socket');
  t.ok(logIndex(supervised.logs, 'signal received') < logIndex(supervised.logs, 'terminate sent'));
  t.ok(supervised.logs.find(msgIs('child exited', { code: 42 })));
});

t.test('an app that ignores terminate is killed at the timeout (DEPUTY_TIMEOUT, DEPUTY_TIMEOUT_EXIT_CODE)', { skip }, async (t) => {
  const supervised = await supervise(t, ['--', NODE, fixture('terminator-app.js')], {
    env: { KEEP_ALIVE: '1', DEPUTY_TIMEOUT: '400ms', DEPUTY_TIMEOUT_EXIT_CODE: '99' },
  });
  await supervised.waitForLog('registered');
  supervised.kill('SIGTERM');
  await supervised.waitForLog('callback ran');
  t.equal((await supervised.exited).status, 99);
  t.ok(supervised.logs.find(msgIs('timeout: killing the child process group', { timeoutMs: 400 })));
  t.ok(supervised.logs.find(msgIs('child exited', { signal: 'SIGKILL' })));
});

t.test('--timeout with the default status 137: a graceless child that ignores SIGTERM', { skip }, async (t) => {
  const supervised = await supervise(t, ['--timeout', '300ms', '--', 'sh', '-c', "trap '' TERM; echo ready; while :; do sleep 1; done"]);
  await waitForStdout(supervised, 'ready');
  supervised.kill('SIGTERM');
  t.equal((await supervised.exited).status, 137);
  t.ok(supervised.logs.find(msgIs('terminate sent', { via: 'signal' })));
});

t.test('the timeout kills the child\'s whole process group, grandchildren included (not PID 1)', { skip }, async (t) => {
  // Not PID 1, so nothing but the supervisor's kill can end the grandchild.
  const supervised = await supervise(t, ['--timeout', '300ms', '--', NODE, fixture('signal-app.js')], {
    pid1: false,
    env: { SIGNALS: 'SIGTERM', SPAWN_CHILD: '1' },
  });
  const grandchild = await supervised.waitForLog(msgIs('ready', { role: 'grandchild' }));
  const grandchildPid = grandchild.pid as number;
  t.teardown(() => {
    try {
      process.kill(grandchildPid, 'SIGKILL');
    } catch {
      // gone, as it should be
    }
  });
  supervised.kill('SIGTERM');
  await supervised.waitForLog(msgIs('got signal', { signal: 'SIGTERM', role: 'child' }));
  t.equal((await supervised.exited).status, 137);
  const state = stateOf(grandchildPid);
  t.ok(state === undefined || state === 'Z', `the grandchild is gone too (state ${String(state)})`);
});

t.test('an app behind an intermediate shell is found through the pid file', { skip }, async (t) => {
  const supervised = await supervise(t, ['--', 'sh', '-c', `"${NODE}" "${fixture('terminator-app.js')}"; echo "app exited $?"; exit 7`], {
    env: { EXIT_CODE: '0' },
  });
  await supervised.waitForLog('registered');
  supervised.kill('SIGTERM');
  t.equal((await supervised.exited).status, 7, 'the shell\'s status');
  const started = supervised.logs.find(msgIs('supervisor started'));
  const sent = supervised.logs.find(msgIs('terminate sent', { via: 'socket' }));
  t.ok(sent, 'terminate went over the socket');
  t.not(sent?.target, started?.childPid, 'to the app, not to the shell');
  t.same(supervised.stdout, ['app exited 0'], 'the shell was not signalled; the app exited cleanly');
});

t.test('Ctrl-C twice kills at once (130); a second SIGTERM is logged and ignored', { skip }, async (t) => {
  const supervised = await supervise(t, ['--', NODE, fixture('terminator-app.js')], { env: { KEEP_ALIVE: '1' } });
  await supervised.waitForLog('registered');
  supervised.kill('SIGTERM');
  await supervised.waitForLog('callback ran');
  supervised.kill('SIGTERM');
  await supervised.waitForLog('termination already under way; signal ignored');
  supervised.kill('SIGINT');
  t.equal((await supervised.exited).status, 130);
  t.ok(supervised.logs.find(msgIs('second SIGINT during termination; killing the child now')));
});
