// deputy supervise as a real PID 1 (unshare --pid --fork --mount-proc) under abuse: bursts of
// hundreds of termination and forwarded signals, a child that closes its stdio and ignores every
// signal, the app SIGKILLed in the middle of its shutdown, and a child exiting while the
// supervisor's stderr is a closed pipe. What must hold: the supervisor exits once, with the
// documented status, in bounded time, and does not crash.
import t from 'tap';
import { join } from 'node:path';
import { FIXTURES, descendantsOf } from '../helpers.js';
import { exitWithin, superviseAsPid1, waitUntil, type Pid1 } from './abuse.js';
import { pid1Unavailable } from '../helpers.js';

const NODE = process.execPath;
const BURST_APP = join(import.meta.dirname, 'fixtures', 'burst-app.js');
const BURST = 300;

const unavailable = pid1Unavailable();
const skip = unavailable ? `cannot run the supervisor as PID 1: ${unavailable}` : false;
if (unavailable && process.env.CI === 'true') t.fail(`${skip} (a skip is a failure when CI=true)`);

/** The supervisor's own records (the child's share its stderr). */
const supervisorLines = (supervised: Pid1): number => supervised.logs.filter((r) => r.component === 'supervisor').length;
const exitingCount = (supervised: Pid1): number => supervised.logs.filter((r) => r.msg === 'supervisor exiting').length;

/**
 * Sends `count` signals, cycling through `signals`, and stops early once the supervisor is gone.
 * Sent in one synchronous loop, most would merge while pending (a standard signal is queued at
 * most once): a turn of the event loop between sends lets each one land on its own.
 */
async function burst(supervised: Pid1, signals: readonly NodeJS.Signals[], count: number): Promise<number> {
  let sent = 0;
  for (; sent < count; sent++) {
    try {
      supervised.kill(signals[sent % signals.length]!);
    } catch {
      break; // gone already
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  return sent;
}

t.test(`a burst of ${BURST} SIGTERM and SIGHUP: one terminate, the app's status, once`, { skip }, async (t) => {
  const supervised = await superviseAsPid1(t, ['--timeout', '5s', '--', NODE, BURST_APP], { EXIT_CODE: '7', DEPUTY_LOG_LEVEL: 'info' });
  await supervised.waitForLog('registered');
  const startedAt = Date.now();
  const sent = await burst(supervised, ['SIGTERM', 'SIGHUP'], BURST);
  const { status, afterMs } = await exitWithin(supervised, 5000, startedAt);
  t.equal(status, 7, 'the app\'s status');
  const ran = supervised.logs.filter((r) => r.msg === 'callback ran');
  t.equal(ran.length, 1, 'the app\'s terminator ran once');
  t.equal(supervised.logs.filter((r) => r.msg === 'terminate sent').length, 1, 'terminate was sent once');
  t.equal(exitingCount(supervised), 1, 'the supervisor exits once');
  t.ok(afterMs < 3000, `exited ${afterMs} ms after the burst began`);
  const lines = supervisorLines(supervised);
  // Repeated and forwarded signals are rate-limited (src/log/limit.ts): a handful each, then a count.
  t.ok(lines <= 20, `a bounded supervisor log (${lines} lines for ${sent} signals)`);
  t.comment(`${sent} signals: exit ${status} ${afterMs} ms after the burst began; ${lines} supervisor log lines; the app saw ${String(ran[0]?.hangups)} SIGHUPs before terminating`);
});

t.test(`a burst of ${BURST} SIGTERM, SIGINT and SIGHUP: the second SIGINT kills at once, 130, once`, { skip }, async (t) => {
  const supervised = await superviseAsPid1(t, ['--timeout', '5s', '--', NODE, join(FIXTURES, 'terminator-app.js')], {
    HOLD_CALLBACK: '1', // the app would take its time: only the kill ends it
    DEPUTY_LOG_LEVEL: 'info',
  });
  await supervised.waitForLog('registered');
  const startedAt = Date.now();
  const sent = await burst(supervised, ['SIGTERM', 'SIGINT', 'SIGHUP'], BURST);
  const { status, afterMs } = await exitWithin(supervised, 5000, startedAt);
  t.equal(status, 130, 'killed at once: 130');
  t.equal(supervised.logs.filter((r) => r.msg === 'second SIGINT during termination; killing the child now').length, 1, 'the kill happened once');
  t.equal(exitingCount(supervised), 1, 'the supervisor exits once');
  t.ok(afterMs < 3000, `exited ${afterMs} ms after the burst began`);
  const lines = supervisorLines(supervised);
  t.ok(lines <= 20, `a bounded supervisor log (${lines} lines for ${sent} signals)`);
  t.comment(`${sent} signals: exit ${status} ${afterMs} ms after the burst began; ${lines} supervisor log lines`);
});

t.test('a child that closes its stdio and ignores every signal: killed at the timeout, 137', { skip }, async (t) => {
  // Every catchable signal but CHLD (which the shell needs to wait for sleep) is ignored, by the
  // shell and by the sleeps it starts (an ignored disposition survives exec).
  const ignoreAll = 'trap "" 1 2 3 4 5 6 7 8 10 11 12 13 14 15 16 18 20 21 22 23 24 25 26 27 28 29 30 31; echo ready; exec 0<&- 1>&- 2>&-; while :; do sleep 1; done';
  const timeoutMs = 1000;
  const supervised = await superviseAsPid1(t, ['--timeout', `${timeoutMs}ms`, '--', 'sh', '-c', ignoreAll], { DEPUTY_LOG_LEVEL: 'info' });
  await waitUntil(() => supervised.stdout.includes('ready'), 10_000, 'the child to start');
  const sentAt = Date.now();
  supervised.kill('SIGTERM');
  for (const signal of ['SIGHUP', 'SIGUSR1', 'SIGQUIT', 'SIGTERM', 'SIGWINCH'] as const) supervised.kill(signal);
  const { status, afterMs } = await exitWithin(supervised, timeoutMs + 4000, sentAt);
  t.equal(status, 137, 'the timeout kill: 137');
  t.ok(afterMs >= timeoutMs - 50, `not before the timeout (${afterMs} ms)`);
  t.ok(afterMs < timeoutMs + 1000, `soon after it (${afterMs} ms; timeout ${timeoutMs} ms)`);
  t.ok(supervised.logs.some((r) => r.msg === 'timeout: killing the child process group'), 'says why');
  t.equal(exitingCount(supervised), 1, 'exits once');
  t.comment(`exit ${status} ${afterMs} ms after SIGTERM with a ${timeoutMs} ms timeout; ${supervisorLines(supervised)} supervisor log lines`);
});

t.test('the app SIGKILLed in the middle of its shutdown: 137 at once, no hang', { skip }, async (t) => {
  const supervised = await superviseAsPid1(t, ['--timeout', '10s', '--', NODE, join(FIXTURES, 'terminator-app.js')], {
    HOLD_CALLBACK: '1',
    DEPUTY_LOG_LEVEL: 'info',
  });
  await supervised.waitForLog('registered');
  supervised.kill('SIGTERM');
  await supervised.waitForLog('callback ran'); // its shutdown has begun, and holds
  const [app] = descendantsOf(supervised.supervisorPid);
  t.ok(app, 'the app is found under the supervisor');
  const killedAt = Date.now();
  process.kill(app!, 'SIGKILL');
  const { status, afterMs } = await exitWithin(supervised, 3000, killedAt);
  t.equal(status, 137, '128 + SIGKILL');
  t.ok(afterMs < 1000, `promptly: ${afterMs} ms after the kill (the timeout was 10 s)`);
  t.ok(supervised.logs.some((r) => r.msg === 'child exited' && r.signal === 'SIGKILL'), 'logs how the child ended');
  t.equal(exitingCount(supervised), 1, 'exits once');
  t.comment(`exit ${status} ${afterMs} ms after the app was SIGKILLed mid-shutdown`);
});

t.test('stderr a closed pipe: the supervisor survives EPIPE and exits with the child\'s status', { skip }, async (t) => {
  for (const [how, childScript, expected] of [
    ['the child exits by itself', 'read line; exit 3', 3],
    ['SIGTERM, then the child exits on it', 'trap "exit 5" TERM; read line; while :; do sleep 0.05; done', 5],
  ] as const) {
    const supervised = await superviseAsPid1(t, ['--timeout', '5s', '--', 'sh', '-c', childScript], { DEPUTY_LOG_LEVEL: 'debug' });
    supervised.process.stderr!.destroy(); // from now on every log line meets EPIPE
    const startedAt = Date.now();
    if (how.startsWith('SIGTERM')) {
      supervised.send('go'); // the child reaches its loop
      supervised.kill('SIGTERM');
    } else {
      supervised.send('go');
    }
    const { status, afterMs } = await exitWithin(supervised, 5000, startedAt);
    t.equal(status, expected, `${how}: the child's status ${expected}, not a crash`);
    t.comment(`${how}: exit ${status} ${afterMs} ms later`);
  }
});
