// deputy supervise, black box, with a preStop hook: deputy terminate run inside the supervisor's
// namespaces (as the kubelet runs a preStop exec) is released and returns 0, the supervisor waits
// for a hook still running and not for stale markers, and a hook starts the timeout. Run as a real
// PID 1 (test/supervisor-helpers.ts).
import t from 'tap';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { childrenOf } from '../src/contract/proc.js';
import { DEPUTY_BIN, logIndex, spawnChild, tempIpcDir, waitForStdout } from './helpers.js';
import { NODE, fixture, msgIs, pid1Unavailable, preStop, supervise } from './supervisor-helpers.js';

const unavailable = pid1Unavailable();
const skip = unavailable ? `cannot run the supervisor as PID 1: ${unavailable}` : false;
if (unavailable && process.env.CI === 'true') t.fail(`${skip} (a skip is a failure when CI=true)`);

t.test('Kubernetes order: preStop deputy terminate, SIGTERM to PID 1, grace period; the hook returns 0', { skip }, async (t) => {
  const supervised = await supervise(t, ['--timeout', '10s', '--', NODE, fixture('terminator-app.js')], {
    env: { HOLD_CALLBACK: '1', EXIT_CODE: '0' },
  });
  await supervised.waitForLog('registered');
  const hook = preStop(t, supervised, ['--timeout', '10s']);
  await supervised.waitForLog('callback ran'); // the app drains
  supervised.kill('SIGTERM'); // the kubelet's SIGTERM arrives while the app is still draining
  await supervised.waitForLog(msgIs('terminate sent', { via: 'socket' }));
  await supervised.waitForLog('terminate requested again');
  supervised.send('exit'); // the drain ends; the app exits 0
  const [hookExit, supervisorExit] = await Promise.all([hook.exited, supervised.exited]);
  t.equal(hookExit.status, 0, 'the preStop command returned 0 (was not cut off)');
  t.equal(supervisorExit.status, 0, 'the app\'s status');
  t.notOk(supervised.logs.find((r) => r.level === 'warn' || r.level === 'error'), 'no warning: a clean stop');
});

t.test('the supervisor waits for a preStop hook still running when the child exits', { skip }, async (t) => {
  // The hook's 50 ms poll usually lets it see the app gone only after the supervisor did: the
  // supervisor must not exit under it.
  const supervised = await supervise(t, ['--', NODE, fixture('terminator-app.js')], { env: { EXIT_CODE: '0' } });
  await supervised.waitForLog('registered');
  const hook = preStop(t, supervised);
  const [hookExit, supervisorExit] = await Promise.all([hook.exited, supervised.exited]);
  t.equal(hookExit.status, 0, 'the preStop command returned 0');
  t.equal(supervisorExit.status, 0);
  const waited = logIndex(supervised.logs, 'waiting for the preStop hook to return');
  if (waited >= 0) t.ok(logIndex(supervised.logs, 'preStop hook returned') > waited, 'and saw it return before exiting');
});

t.test('deputy terminate with no pid file reaches the supervisor\'s own socket; the hook returns 0', { skip }, async (t) => {
  const supervised = await supervise(t, ['--', 'sh', '-c', 'echo ready; exec sleep 1000']);
  await waitForStdout(supervised, 'ready');
  await supervised.waitForLog('graceful terminator listening'); // the supervisor's socket is bound
  const hook = preStop(t, supervised, ['--timeout', '10s']);
  const [hookExit, supervisorExit] = await Promise.all([hook.exited, supervised.exited]);
  t.equal(supervisorExit.status, 143, 'the graceless child got SIGTERM');
  t.equal(hookExit.status, 0, 'the hook aimed at PID 1 was released and returned 0');
  t.ok(supervised.logs.find(msgIs('terminate received on the supervisor socket')));
  t.ok(supervised.logs.find(msgIs('released the preStop hook aimed at the supervisor')));
});

t.test('stale preStop markers (a thread of the supervisor, a reused pid) do not hold the exit', { skip }, async (t) => {
  const dir = tempIpcDir(t);
  // In a fresh pid namespace the supervisor's threads take the first pids after 1 and kill -0
  // succeeds on a thread id: markers left from an earlier run name them.
  for (let pid = 2; pid <= 40; pid += 1) writeFileSync(join(dir, `deputy-prestop.${pid}`), '999\n');
  const supervised = await supervise(t, ['--timeout', '3s', '--', 'sh', '-c', 'exit 3'], { env: { DEPUTY_IPC_DIR: dir } });
  t.equal((await supervised.exited).status, 3);
  // Measured by the supervisor's own clock from the child's exit, so a slow start on a busy
  // machine does not count: waiting for a (stale) hook would take the whole 3 s timeout.
  const at = (msg: string): number => Date.parse(String(supervised.logs.find(msgIs(msg))?.time));
  const waitedMs = at('supervisor exiting') - at('child exited');
  t.ok(waitedMs < 2000, `exited without waiting out the timeout (${waitedMs} ms after the child)`);
  t.notOk(supervised.logs.find(msgIs('waiting for the preStop hook to return')), 'no stale marker was taken for a hook');
});

t.test('a marker is a hook only while its pid is that process: not a thread, not a later process', async (t) => {
  const { holdPreStopMarker, readMarker } = await import('../src/ipc/prestop.js');
  const { processStartTime } = await import('../src/contract/proc.js');
  const dir = tempIpcDir(t);
  const thread = readdirSync('/proc/self/task').map(Number).find((tid) => tid !== process.pid);
  t.ok(thread, 'this process has a thread');
  writeFileSync(join(dir, `deputy-prestop.${thread}`), '1\n');
  t.equal(readMarker(`deputy-prestop.${thread}`, dir), undefined, 'a thread id is not a hook');
  t.notOk(readdirSync(dir).includes(`deputy-prestop.${thread}`), 'and its marker is removed');

  const sleeper = spawn('sleep', ['1000'], { stdio: 'ignore' });
  t.teardown(() => {
    try {
      process.kill(sleeper.pid!, 'SIGKILL');
    } catch {
      // gone
    }
  });
  const name = `deputy-prestop.${sleeper.pid}`;
  const startTime = processStartTime(sleeper.pid!)!;
  writeFileSync(join(dir, name), `1\n${startTime - 1}\n`);
  t.equal(readMarker(name, dir), undefined, 'another start time: the pid was reused');
  writeFileSync(join(dir, name), `1\n${startTime}\n`);
  t.equal(readMarker(name, dir, startTime + 1), undefined, 'started before the supervisor: stale');
  writeFileSync(join(dir, name), `1\n${startTime}\n`);
  t.match(readMarker(name, dir, startTime), { pid: sleeper.pid, target: 1, startTime }, 'the same process: a hook');

  const marker = holdPreStopMarker(5, dir);
  t.same(readFileSync(marker.path!, 'utf8'), `5\n${processStartTime('self')}\n`, 'a marker records its writer\'s start time');
  t.notOk(marker.releasedByTarget(), 'held until a reader removes it');
  unlinkSync(marker.path!);
  t.ok(marker.releasedByTarget(), 'removed by its target: released');
});

t.test('deputy terminate leaves its marker until a reader sees it gone, even when stopped by SIGTERM', { skip }, async (t) => {
  const { runningPreStopHooks } = await import('../src/ipc/prestop.js');
  const dir = tempIpcDir(t);
  const app = spawnChild(t, NODE, [fixture('terminator-app.js')], { DEPUTY_IPC_DIR: dir, KEEP_ALIVE: '1' });
  await app.waitForLog('registered');
  const hook = spawnChild(t, NODE, [DEPUTY_BIN, 'terminate', String(app.pid), '--timeout', '30s'], { DEPUTY_IPC_DIR: dir });
  await app.waitForLog('callback ran'); // the hook wrote its marker before it sent terminate
  const name = `deputy-prestop.${hook.pid}`;
  t.match(runningPreStopHooks(dir), [{ pid: hook.pid, target: app.pid }], 'the hook holds its marker');
  process.kill(hook.pid, 'SIGTERM');
  t.equal((await hook.exited).status, 143);
  // Removing it before its exit would open a window in which an entrypoint sees no hook (src/ipc/prestop.ts).
  t.ok(readdirSync(dir).includes(name), 'the hook did not remove its marker');
  t.same(runningPreStopHooks(dir), [], 'its writer gone, the marker is stale');
  t.notOk(readdirSync(dir).includes(name), 'and the reader removed it');
});

t.test('a preStop hook starts the timeout: an app ignoring terminate is killed at it, and the hook returns', { skip }, async (t) => {
  const supervised = await supervise(t, ['--timeout', '1s', '--timeout-exit-code', '99', '--', NODE, fixture('terminator-app.js')], {
    env: { KEEP_ALIVE: '1' },
  });
  await supervised.waitForLog('registered');
  const hook = preStop(t, supervised, ['--timeout', '8s']);
  await supervised.waitForLog('callback ran');
  // No SIGTERM to PID 1: without the hook starting the clock nothing would end the app.
  await supervised.waitForLog('supervisor exiting', 6000);
  const [hookExit, supervisorExit] = await Promise.all([hook.exited, supervised.exited]);
  t.equal(supervisorExit.status, 99, 'killed at the supervisor\'s timeout with the configured status');
  t.equal(hookExit.status, 0, 'the hook saw its target gone and returned 0');
  t.ok(supervised.logs.find(msgIs('timeout: killing the child process group', { timeoutMs: 1000 })));
});

t.test('a hook held up when the timeout kills the app still gets its grace to return', { skip }, async (t) => {
  // After the timeout killed the app the supervisor waits a grace (1 s) for hooks aimed at the app
  // to see it gone. A hook that gets no CPU just then (a busy node) needs more than the few
  // milliseconds between the kill and PID 1's exit: here it is stopped until the supervisor says
  // it is waiting for it. Stopped, it cannot return in time by luck.
  const supervised = await supervise(t, ['--timeout', '2s', '--timeout-exit-code', '99', '--', NODE, fixture('terminator-app.js')], {
    env: { KEEP_ALIVE: '1' },
  });
  await supervised.waitForLog('registered');
  // `env -u`: without the test runner's coverage hooks, whose exit work would need far more CPU.
  const hook = spawnChild(t, 'nsenter', ['--target', String(supervised.supervisorPid), '--pid', '--mount', '--', 'env', '-u', 'NODE_OPTIONS', NODE, DEPUTY_BIN, 'terminate', '--timeout', '20s'], {
    DEPUTY_IPC_DIR: supervised.dir,
  });
  await supervised.waitForLog('callback ran'); // the hook has sent terminate and polls for the app's exit
  const hookNode = childrenOf(hook.pid)[0];
  t.ok(hookNode, 'the hook runs under nsenter');
  process.kill(hookNode!, 'SIGSTOP');
  await supervised.waitForLog('waiting for the preStop hook to return', 15_000);
  process.kill(hookNode!, 'SIGCONT');
  // nsenter, seeing its child stop, stopped itself too (to pass job control on): it goes on again.
  process.kill(hook.pid, 'SIGCONT');
  const [hookExit, supervisorExit] = await Promise.all([hook.exited, supervised.exited]);
  t.equal(supervisorExit.status, 99, 'killed at the timeout');
  t.equal(hookExit.status, 0, 'the held-up hook saw its target gone and returned 0, not cut off by the supervisor\'s exit');
  t.ok(supervised.logs.find(msgIs('preStop hook returned')), supervised.logs.map((record) => record.msg).join(' | '));
});
