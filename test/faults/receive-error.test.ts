// A receive error on the terminator socket must not take the process down: unix-dgram's JS
// wrapper read `buf.length` of the null buffer its native side passes when recvmsg() fails,
// throwing inside a native callback. Provoked for real (test/fixtures/receive-error-app.js: a
// recvmsg() that finds the datagram gone, EAGAIN) in an app using the SDK.
import t from 'tap';
import unix from 'unix-dgram';
import { socketPath } from '../../src/contract/protocol.js';
import { spawnFixture, tempIpcDir } from '../helpers.js';

function sendTerminate(path: string): Promise<void> {
  const client = unix.createSocket('unix_dgram');
  const payload = Buffer.from('terminate');
  return new Promise((resolve, reject) => {
    client.send(payload, 0, payload.length, path, (error) => {
      client.close();
      if (error) reject(new Error(`send failed: ${error.code}`));
      else resolve();
    });
  });
}

t.test('receive errors are logged (bounded) and the socket keeps working', async (t) => {
  const dir = tempIpcDir(t);
  const rounds = 12;
  const app = spawnFixture(t, 'receive-error-app.js', { DEPUTY_IPC_DIR: dir, ROUNDS: String(rounds), EXIT_CODE: '7' });
  const provoked = await app.waitForLog('provoked');
  t.equal(provoked.rounds, rounds, `${rounds} receives failed`);

  const reports = app.logs.filter((r) => typeof r.msg === 'string' && r.msg.includes('receive failed'));
  t.same(
    reports.map((r) => r.occurrences),
    [1, 2, 3, 4, 5],
    `${rounds} receive errors: the first 5 logged, the rest counted (the log limiter's burst)`,
  );
  t.ok(reports.every((r) => r.level === 'warn' && r.code === 'EAGAIN'), 'warnings naming the errno');
  t.notOk(app.logs.some((r) => r.level === 'raw'), 'no stack trace or other raw line on stderr');

  await sendTerminate(socketPath(app.pid, dir));
  const { status } = await app.exited;
  t.equal(status, 7, 'a later terminate still runs the callback');
  t.ok(app.logs.some((r) => r.msg === 'callback ran'));
  const summary = app.logs.find((r) => r.event === 'terminator-receive-failed');
  t.equal(summary?.suppressed, rounds - 5, 'the rest are counted in one summary, written by the exit at the latest');
});
