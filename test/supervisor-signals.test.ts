// deputy supervise, black box, signal forwarding: every catchable signal but the documented
// exceptions reaches the child, and with --process-group its grandchildren too. Run as a real
// PID 1 (test/supervisor-helpers.ts), signalled from outside the namespace.
import t from 'tap';
import { constants } from 'node:os';
import { NODE, fixture, msgIs, pid1Unavailable, supervise } from './supervisor-helpers.js';

const unavailable = pid1Unavailable();
const skip = unavailable ? `cannot run the supervisor as PID 1: ${unavailable}` : false;
if (unavailable && process.env.CI === 'true') t.fail(`${skip} (a skip is a failure when CI=true)`);

t.test('every catchable signal but the documented exceptions reaches the child', { skip }, async (t) => {
  const exceptions = new Set(['SIGKILL', 'SIGSTOP', 'SIGCHLD', 'SIGTTIN', 'SIGTTOU', 'SIGPIPE', 'SIGILL', 'SIGTRAP', 'SIGABRT', 'SIGBUS', 'SIGFPE', 'SIGSEGV', 'SIGSYS']);
  const termination = new Set(['SIGTERM', 'SIGINT']);
  // One name per number 1..31 (SIGIOT = SIGABRT, SIGPOLL = SIGIO are aliases).
  const byNumber = new Map<number, NodeJS.Signals>();
  for (const [name, number] of Object.entries(constants.signals) as Array<[NodeJS.Signals, number]>) {
    if (number >= 1 && number <= 31 && !byNumber.has(number)) byNumber.set(number, name);
  }
  const forwarded = [...byNumber.values()].filter((name) => !exceptions.has(name) && !termination.has(name));
  t.ok(forwarded.length >= 15, `${forwarded.length} signals to check`);
  const supervised = await supervise(t, ['--', NODE, fixture('signal-app.js')], { env: { SIGNALS: forwarded.join(',') } });
  await supervised.waitForLog(msgIs('ready'));
  for (const signal of forwarded) {
    supervised.kill(signal);
    await supervised.waitForLog(msgIs('got signal', { signal, role: 'child' }), 5000);
    t.pass(`${signal} reached the child`);
  }
  t.notOk(
    supervised.logs.some((record) => typeof record.msg === 'string' && record.msg.includes('Debugger listening')),
    'SIGUSR1 did not open the supervisor\'s inspector',
  );
  supervised.kill('SIGTERM');
  t.equal((await supervised.exited).status, 143, 'graceless child (no socket) killed by the SIGTERM it was sent');
  t.ok(supervised.logs.find(msgIs('terminate sent', { via: 'signal', signal: 'SIGTERM' })));
});

t.test('--process-group: a forwarded signal reaches the grandchild too', { skip }, async (t) => {
  const supervised = await supervise(t, ['--process-group', '--', NODE, fixture('signal-app.js')], {
    env: { SIGNALS: 'SIGHUP', SPAWN_CHILD: '1' },
  });
  await supervised.waitForLog(msgIs('ready', { role: 'grandchild' }));
  supervised.kill('SIGHUP');
  await supervised.waitForLog(msgIs('got signal', { signal: 'SIGHUP', role: 'child' }));
  await supervised.waitForLog(msgIs('got signal', { signal: 'SIGHUP', role: 'grandchild' }));
  t.pass('child and grandchild both got SIGHUP');
  supervised.kill('SIGTERM'); // graceless: both die of it (the group gets it too)
  t.equal((await supervised.exited).status, 143);
});
