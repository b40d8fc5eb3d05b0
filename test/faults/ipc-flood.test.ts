// Whoever can write to the IPC directory can send an app any number of datagrams: the app must
// stay up, still answer `terminate` (once), and log a bounded number of lines that still say how
// many datagrams it ignored.
import t from 'tap';
import { randomBytes, randomInt } from 'node:crypto';
import { join } from 'node:path';
import { gracefulTerminate } from '../../src/ipc/terminate-sender.js';
import { isTerminateMessage, socketPath } from '../../src/contract/protocol.js';
import { FIXTURES, spawnChild, spawnFixture, tempIpcDir, useIpcDir } from '../helpers.js';
import { flood } from './dgram-flood.js';
import { stderrBytes, suppressedCount, summariesOf, withMsg } from './fault-helpers.js';
import { waitForStdout } from '../helpers.js';

/** Stderr lines allowed for a whole flood: a handful of samples, summaries and the lifecycle lines. */
const MAX_LINES = 20;
const DATAGRAMS = 20_000;
const MAX_DATAGRAM_BYTES = 60 * 1024;

t.test(`${DATAGRAMS} random datagrams of up to 60 KiB: the app lives, answers, and logs at most ${MAX_LINES} lines`, async (t) => {
  const dir = useIpcDir(t);
  const app = spawnFixture(t, 'terminator-app.js', { DEPUTY_IPC_DIR: dir, EXIT_CODE: '0' });
  const bytes = stderrBytes(app);
  await app.waitForLog('registered');
  const path = socketPath(app.pid, dir);

  const pool = randomBytes(2 * MAX_DATAGRAM_BYTES);
  const payload = (): Buffer => {
    for (;;) {
      const size = randomInt(1, MAX_DATAGRAM_BYTES + 1);
      const start = randomInt(0, pool.length - size + 1);
      const candidate = pool.subarray(start, start + size);
      if (!isTerminateMessage(candidate)) return candidate;
    }
  };
  const started = Date.now();
  const { congestions } = await flood(path, DATAGRAMS, payload);
  const floodMs = Date.now() - started;

  t.equal(app.process.exitCode, null, 'the app is still running');
  t.equal(app.process.signalCode, null, 'and was not killed');
  await gracefulTerminate(app.pid, { timeoutMs: 30_000 }); // queued behind the flood: read after it
  t.equal((await app.exited).status, 0, 'terminate after the flood ran the callback, which exited 0');
  t.equal(withMsg(app.logs, 'callback ran').length, 1, 'the callback ran exactly once');

  const samples = withMsg(app.logs, 'ignored a datagram');
  const suppressed = suppressedCount(app.logs, 'ignored-datagram');
  t.ok(samples.length > 0 && samples.length <= 10, `a few datagrams logged one by one (${samples.length})`);
  t.ok(summariesOf(app.logs, 'ignored-datagram').length > 0, 'a summary record for the rest');
  t.equal(samples.length + suppressed, DATAGRAMS, 'samples and summaries account for every datagram');
  t.ok(app.logs.length <= MAX_LINES, `stderr has ${app.logs.length} lines (at most ${MAX_LINES})`);
  t.comment(`${DATAGRAMS} datagrams in ${floodMs} ms (${congestions} waits for a full queue): ${app.logs.length} stderr lines, ${bytes()} bytes`);
});

/** Sender processes, and client sockets each: 1,000 terminates sent at once. */
const SENDERS = 4;
const SOCKETS_EACH = 250;
/** Node start-up on a loaded 2-core machine can take seconds: a bound, not a synchronisation. */
const START_MS = 30_000;

t.test(`1,000 concurrent terminates from ${SENDERS} processes run the callback once and log a bounded number of lines`, async (t) => {
  const dir = tempIpcDir(t);
  const app = spawnFixture(t, 'terminator-app.js', { DEPUTY_IPC_DIR: dir, EXIT_CODE: '0', HOLD_CALLBACK: '1' });
  const bytes = stderrBytes(app);
  await app.waitForLog('registered');
  const path = socketPath(app.pid, dir);

  const sender = (count: number, message = 'terminate') => spawnChild(t, process.execPath, [join(FIXTURES, 'dgram-sender.js'), path, String(count), message]);
  const senders = Array.from({ length: SENDERS }, () => sender(SOCKETS_EACH));
  const marker = sender(1, 'marker');
  await Promise.all([...senders, marker].map((child) => waitForStdout(child, 'ready', START_MS)));
  for (const child of senders) child.send('go');
  const statuses = await Promise.all(senders.map(async (child) => (await child.exited).status));
  t.same(statuses, Array(SENDERS).fill(0), `every sender sent its ${SOCKETS_EACH} terminates`);

  // The receive queue is one FIFO: once a datagram sent after them all is read, so are they.
  marker.send('go');
  t.equal((await marker.exited).status, 0, 'the marker was sent');
  await app.waitForLog((record) => record.preview === 'marker');

  app.send('exit'); // the callback returns; the app exits 0
  t.equal((await app.exited).status, 0, 'the app exited 0 from its callback');
  t.equal(withMsg(app.logs, 'callback ran').length, 1, 'the callback ran exactly once');
  t.equal(withMsg(app.logs, 'terminate requested;').length, 1, 'one "terminate requested"');
  const repeats = withMsg(app.logs, 'terminate requested again');
  const suppressed = suppressedCount(app.logs, 'terminate-repeated');
  t.ok(repeats.length <= 10, `a few repeats logged one by one (${repeats.length})`);
  t.equal(repeats.length + suppressed, 999, 'samples and summaries account for the 999 repeats');
  t.ok(app.logs.length <= MAX_LINES, `stderr has ${app.logs.length} lines (at most ${MAX_LINES})`);
  t.comment(`1,000 terminates: ${app.logs.length} stderr lines, ${bytes()} bytes`);
});
