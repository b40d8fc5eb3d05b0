// deputy supervise, black box, reaping: as PID 1 or with --subreaper, orphans leave no zombie and
// are counted in the logs; processes the child leaves behind get SIGTERM, then SIGKILL at the
// timeout (at once on SIGINT), and the child's own status stands. Run as a real PID 1
// (test/supervisor-helpers.ts); zombies are read from /proc outside the namespace.
import t from 'tap';
import type { Test } from 'tap';
import { childrenOf } from '../src/contract/proc.js';
import { logIndex, waitForStdout, type LogRecord } from './helpers.js';
import { fixture, msgIs, pid1Unavailable, stateOf, supervise, type Supervised } from './supervisor-helpers.js';

const unavailable = pid1Unavailable();
const skip = unavailable ? `cannot run the supervisor as PID 1: ${unavailable}` : false;
if (unavailable && process.env.CI === 'true') t.fail(`${skip} (a skip is a failure when CI=true)`);

/** Zombie children of `pid`, seen from outside. */
const zombiesUnder = (pid: number): number[] => childrenOf(pid).filter((child) => stateOf(child) === 'Z');

/**
 * Orphans reaped according to the logs: the 'orphans reaped' debug records, plus the counts of
 * their rate-limit summaries (complete once the supervisor has exited).
 */
const reapedTotal = (logs: readonly LogRecord[]): number =>
  logs.reduce((total, record) => total + (record.msg === 'orphans reaped' || record.event === 'orphans-reaped' ? (record.count as number) : 0), 0);

/** Resolves once `condition()` holds, checked every 20 ms; rejects after `timeoutMs`. */
async function until(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Makes 100 orphans under the supervisor; all are reaped while it runs, and counted in its logs. */
async function orphansReaped(t: Test, supervised: Supervised, status: number): Promise<void> {
  await waitForStdout(supervised, 'orphans made: 100');
  t.not(supervised.supervisorPid, 0, 'the supervisor is running');
  // Every orphan exists by now (its parent subshell has exited): reaped, all that is left is the child.
  await until(() => childrenOf(supervised.supervisorPid).length === 1, 'the orphans are reaped');
  t.same(zombiesUnder(supervised.supervisorPid), [], 'no zombie among the supervisor\'s children');
  supervised.send('done');
  t.equal((await supervised.exited).status, status);
  t.equal(reapedTotal(supervised.logs), 100, 'the logs count 100 orphans reaped');
  t.ok(supervised.logs.filter((r) => r.msg === 'orphans reaped').length <= 5, 'at most 5 of them one by one, the rest in summaries');
}

t.test('as PID 1, 100 orphans leave no zombie behind', { skip }, async (t) => {
  const supervised = await supervise(t, ['--', fixture('orphan-maker.sh'), '100', '5']);
  await orphansReaped(t, supervised, 5);
});

t.test('with --subreaper when not PID 1, 100 orphans leave no zombie behind', { skip }, async (t) => {
  const supervised = await supervise(t, ['--subreaper', '--', fixture('orphan-maker.sh'), '100'], { pid1: false });
  t.ok(supervised.logs.find(msgIs('supervisor started', { pid1: false, reaping: true })));
  await orphansReaped(t, supervised, 0);
});

t.test('the main child exits while a grandchild lives: SIGTERM it, then exit with the child\'s status', { skip }, async (t) => {
  const supervised = await supervise(t, ['--', 'sh', '-c', 'sleep 1000 & echo started; exit 3']);
  t.equal((await supervised.exited).status, 3);
  const left = supervised.logs.find(msgIs('the child exited and left processes running; sending them SIGTERM'));
  t.ok(left, 'the leftover sleep was signalled');
  t.equal((left?.pids as number[] | undefined)?.length, 1);
  t.ok(supervised.logs.find(msgIs('leftover processes ended')), 'and ended before the supervisor exited');
  t.ok(logIndex(supervised.logs, 'leftover processes ended') < logIndex(supervised.logs, 'supervisor exiting'));
});

/** A child that leaves a process ignoring SIGTERM, then exits with $1 after a line on stdin. */
const LEFTOVER_IGNORING_TERM = `(trap '' TERM; echo 'leftover ready'; exec sleep 1000) & read -r _line; exit "$1"`;

t.test('a leftover that ignores SIGTERM is killed when the timeout runs out', { skip }, async (t) => {
  const supervised = await supervise(t, ['--timeout', '300ms', '--', 'sh', '-c', LEFTOVER_IGNORING_TERM, 'sh', '4']);
  await waitForStdout(supervised, 'leftover ready');
  supervised.send('exit');
  t.equal((await supervised.exited).status, 4, 'still the main child\'s status');
  t.ok(supervised.logs.find(msgIs('leftover processes still running at the timeout; killing them')));
});

t.test('a SIGINT while leftovers are being ended kills them at once; the child\'s status stands', { skip }, async (t) => {
  const supervised = await supervise(t, ['--', 'sh', '-c', LEFTOVER_IGNORING_TERM, 'sh', '6']);
  await waitForStdout(supervised, 'leftover ready');
  supervised.send('exit');
  await supervised.waitForLog('the child exited and left processes running; sending them SIGTERM');
  supervised.kill('SIGINT');
  t.equal((await supervised.exited).status, 6, 'not 130: the child had exited by itself');
  t.ok(supervised.logs.find(msgIs('SIGINT after the child exited; killing what it left now')));
});
