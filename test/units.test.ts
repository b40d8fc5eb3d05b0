// Pure functions and in-process pieces: durations, the pid file format, messages, log lines,
// option validation, the health server's port handling and what a supervision's phase implies.
import t from 'tap';
import { createServer } from 'node:net';
import { parseDuration } from '../src/contract/duration.js';
import { formatPidFile, isTerminateMessage, parsePidFile, socketPath, ipcDir, entrypointPidPath } from '../src/contract/protocol.js';
import { prettyLine } from '../src/log/pretty.js';
import { isoTime } from '../src/log/logger.js';
import { Deputy } from '../src/sdk/deputy.js';
import { MalformedPidFileError, UsageError } from '../src/contract/errors.js';
import { childGone, cutShort, hurrying, type Phase } from '../src/supervisor/phase.js';
import { setEnv } from './helpers.js';

t.test('parseDuration', async (t) => {
  t.equal(parseDuration('500ms', '--timeout'), 500);
  t.equal(parseDuration('5s', '--timeout'), 5000);
  t.equal(parseDuration('1.5s', '--timeout'), 1500);
  t.equal(parseDuration('1m', '--timeout'), 60_000);
  t.equal(parseDuration('1h', '--timeout'), 3_600_000);
  t.equal(parseDuration('250', '--timeout'), 250);
  t.equal(parseDuration('0', '--timeout'), 0);
  for (const bad of ['', 'abc', '5x', '-1s', '1 2s', 's', '1e3']) {
    t.throws(() => parseDuration(bad, '--timeout'), UsageError, `rejects ${JSON.stringify(bad)}`);
  }
  t.throws(() => parseDuration('5x', 'DEPUTY_TIMEOUT'), { message: /^DEPUTY_TIMEOUT: invalid duration "5x"/ }, 'names what was wrong');
  t.throws(() => parseDuration('30d', '--timeout'), UsageError);
  t.throws(() => parseDuration('999h', '--timeout'), { message: /too long/ });
});

t.test('pid file format', async (t) => {
  t.equal(formatPidFile(42), '42\n');
  t.equal(parsePidFile('42\n', 'f'), 42);
  t.equal(parsePidFile('42', 'f'), 42, 'a missing newline is tolerated');
  for (const bad of ['', '\n', '0\n', '-1\n', ' 42\n', '42\n\n', '4x\n', '99999999\n', '4194305\n']) {
    t.throws(() => parsePidFile(bad, '/run/deputy-entrypoint.pid'), MalformedPidFileError, `rejects ${JSON.stringify(bad)}`);
  }
});

t.test('contract paths', async (t) => {
  const restore = setEnv('DEPUTY_IPC_DIR', '');
  t.equal(ipcDir(), '/run', 'empty DEPUTY_IPC_DIR means the default');
  restore();
  t.equal(ipcDir({}), '/run');
  t.equal(ipcDir({ DEPUTY_IPC_DIR: '/tmp/x' }), '/tmp/x');
  t.equal(socketPath(7, '/run'), '/run/graceful-terminator.7.socket');
  t.equal(entrypointPidPath('/run'), '/run/deputy-entrypoint.pid');
});

t.test('terminate message', async (t) => {
  t.ok(isTerminateMessage(Buffer.from('terminate')));
  t.ok(isTerminateMessage(Buffer.from('terminate\n')));
  for (const bad of ['terminate\n\n', 'Terminate', 'terminate ', '', 'terminate\r\n']) t.notOk(isTerminateMessage(Buffer.from(bad)), JSON.stringify(bad));
});

t.test('readable log lines for a terminal', async (t) => {
  const line = prettyLine(JSON.stringify({ time: '2026-01-02T03:04:05.678Z', level: 'info', pid: 9, msg: 'hello', phase: 'x', n: 3 }));
  t.equal(line, '03:04:05.678 INFO  [9] hello phase=x n=3\n');
  t.equal(prettyLine('not json'), 'not json');
});

t.test('log times read as toISOString writes them', async (t) => {
  // The edges of each field, then times spread over the years a log can carry.
  const edges = [0, 1, 999, 1000, 59_999, 3_599_999, 86_399_999, Date.UTC(2000, 1, 29, 23, 59, 59, 999), Date.UTC(9999, 11, 31, 23, 59, 59, 999), Date.UTC(-1, 0, 1), Date.UTC(10_000, 0, 1)];
  for (const ms of edges) t.equal(isoTime(ms), new Date(ms).toISOString(), String(ms));
  let mismatches = 0;
  for (let i = 0; i < 20_000; i += 1) {
    const ms = Math.floor(Math.random() * Date.UTC(9999, 11, 31));
    if (isoTime(ms) !== new Date(ms).toISOString()) mismatches += 1;
  }
  t.equal(mismatches, 0, '20,000 random times from 1970 to 9999');
});

t.test('Deputy option validation', async (t) => {
  t.throws(() => new Deputy({ shutdownHandlerTimeoutMs: -1 }), { message: /shutdownHandlerTimeoutMs must be an integer/ });
  t.throws(() => new Deputy({ failureExitCode: 256 }), { message: /failureExitCode must be an integer from 0 to 255/ });
  const deputy = new Deputy();
  t.equal(deputy.started, false);
  t.equal(deputy.shuttingDown, false);
  deputy.readied();
  deputy.readied();
  t.equal(deputy.started, true);
  t.same(await deputy.probe('ready'), { statusCode: 200, body: { status: 'ready' } });
});

t.test('health server port and host from the environment', async (t) => {
  const restorePort = setEnv('DEPUTY_HEALTH_CHECK_PORT', '0');
  const restoreHost = setEnv('DEPUTY_HEALTH_CHECK_HOST', '127.0.0.1');
  t.teardown(restorePort);
  t.teardown(restoreHost);
  const server = await new Deputy().serve();
  t.teardown(() => server.close());
  const address = server.address();
  t.ok(typeof address === 'object' && address && address.port > 0 && address.address === '127.0.0.1', 'env port 0 and host used');

  setEnv('DEPUTY_HEALTH_CHECK_PORT', 'http');
  t.throws(() => new Deputy().serve(), { message: /DEPUTY_HEALTH_CHECK_PORT="http" is not a TCP port/ });
  setEnv('DEPUTY_HEALTH_CHECK_PORT', '70000');
  t.throws(() => new Deputy().serve(), UsageError);

  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  t.teardown(() => blocker.close());
  const busy = (blocker.address() as { port: number }).port;
  await t.rejects(new Deputy().serve({ host: '127.0.0.1', port: busy }), { message: new RegExp(`port ${busy} is in use; set DEPUTY_HEALTH_CHECK_PORT`) });
});

t.test("a supervision's phase: when the child is gone and when the waits stop", async (t) => {
  const timer = setTimeout(() => {}, 0);
  clearTimeout(timer);
  const cases: Array<[Phase, boolean, boolean, boolean]> = [
    // phase, childGone, hurrying, cutShort
    [{ name: 'running' }, false, false, false],
    [{ name: 'terminating', sinceMs: 1, timer, signalled: true }, false, false, false],
    [{ name: 'terminating', sinceMs: 1, timer, signalled: true, forced: 'timeout' }, false, false, false],
    [{ name: 'child-exited', sinceMs: undefined, hurry: false }, true, false, false],
    // the timeout or a second SIGINT killed everything: no wait for leftovers, the hooks' grace stays
    [{ name: 'child-exited', sinceMs: 1, forced: 'timeout', hurry: false }, true, true, false],
    // a SIGINT after the child exited: every wait stops
    [{ name: 'child-exited', sinceMs: 1, hurry: true }, true, true, true],
    [{ name: 'done', status: 0 }, true, true, true],
  ];
  for (const [phase, gone, hurry, cut] of cases) {
    const what = JSON.stringify({ ...phase, timer: undefined });
    t.equal(childGone(phase), gone, `childGone ${what}`);
    t.equal(hurrying(phase), hurry, `hurrying ${what}`);
    t.equal(cutShort(phase), cut, `cutShort ${what}`);
  }
});
