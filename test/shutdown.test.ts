// Work that is not HTTP: deputy.signal, tracked work, shutdownOnCrash, the event loop check and
// the one shutdown record, against a real child process (test/fixtures/work-app.js, and the
// example worker) stopped by `deputy terminate`, signals, and crashes of its own.
import t from 'tap';
import { request } from 'node:http';
import { createServer as createTcpServer, type Socket } from 'node:net';
import { join } from 'node:path';
import type { Test } from 'tap';
import { ROOT, logIndex, runDeputy, spawnChild, spawnFixture, tempIpcDir, type Child, type LogRecord } from './helpers.js';

interface Answer {
  status: number;
  body: string;
}

function get(port: number, path: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function startApp(t: Test, env: NodeJS.ProcessEnv = {}): Promise<{ app: Child; port: number; healthPort: number; ipcDir: string }> {
  const ipcDir = tempIpcDir(t);
  const app = spawnFixture(t, 'work-app.js', { DEPUTY_IPC_DIR: ipcDir, DEPUTY_DRAIN_DELAY: '0', DEPUTY_DRAIN_QUIET: '0', ...env });
  const listening = await app.waitForLog('app listening');
  return { app, port: listening.port as number, healthPort: listening.healthPort as number, ipcDir };
}

const last = (app: Child): LogRecord => app.logs[app.logs.length - 1]!;
const at = (record: LogRecord | undefined): number => Date.parse(String(record?.time));
const find = (app: Child, msg: string): LogRecord | undefined => app.logs.find((r) => typeof r.msg === 'string' && r.msg.includes(msg));

/** Polls `check` every 50 ms until it returns true, for at most `timeoutMs`. */
async function until(what: string, check: () => Promise<boolean>, timeoutMs = 5000): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await check()) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

t.test('terminate during a tracked job: the signal aborts at once, the job finishes, then the handlers; exit 0; one record', async (t) => {
  const { app, ipcDir } = await startApp(t);
  app.send('hold long');
  await app.waitForLog((r) => r.msg === 'job started' && r.job === 'long');
  const terminated = runDeputy(['terminate', '--timeout', '20s'], { DEPUTY_IPC_DIR: ipcDir });
  const aborted = await app.waitForLog('signal aborted');
  t.same([aborted.cause, aborted.code, aborted.isError, aborted.deputyPhase], ['terminate', 'EDEPUTY_SHUTDOWN', true, 'delay'], 'aborted with a DeputyShutdown saying how');
  await app.waitForLog('waiting for 1 tracked work to finish');
  t.notOk(find(app, 'handler ran'), 'the handlers wait for the tracked job');

  app.send('job late 10');
  const late = await app.waitForLog('work tracked after shutdown began');
  t.equal(late.work, 'late', 'tracking after shutdown began works and is logged');
  await app.waitForLog((r) => r.msg === 'job result' && r.job === 'late');
  app.send('release long');

  t.equal((await app.exited).status, 0, 'exit 0');
  t.equal((await terminated).status, 0, 'deputy terminate saw the process go');
  const order = ['shutdown started', 'signal aborted', 'tracked work finished', 'handler ran', 'shutdown complete'].map((m) => logIndex(app.logs, m));
  t.same([...order].sort((a, b) => a - b), order, `in order: ${order.join(', ')}`);
  t.ok(logIndex(app.logs, 'job finished') < logIndex(app.logs, 'handler ran'), 'the job finished before the handlers');

  const record = last(app);
  t.equal(record.msg, 'shutdown complete', 'the record is the last line');
  t.match(record, {
    level: 'info',
    phase: 'shutdown',
    cause: 'terminate',
    exitCode: 0,
    phases: { delay: { reason: 'quiet' }, drain: { outcome: 'drained' }, handlers: { outcome: 'done', count: 1 } },
    requests: { inFlightAtStart: 0, cut: 0 },
    connections: { closedGracefully: 0, destroyed: 0 },
    tracked: { inFlightAtStart: 1, startedDuringShutdown: 1, finished: 2, failed: 0, cut: 0, cutNames: [] },
  });
  for (const phase of ['delay', 'drain', 'handlers'] as const) {
    t.type((record.phases as Record<string, { durationMs: unknown } | undefined>)[phase]?.durationMs, 'number', `${phase} duration`);
  }

  const observed = app.logs.filter((r) => r.msg === 'observed');
  t.same(observed.map((r) => [r.observedPhase, r.deputyPhase]), [['delay', 'delay'], ['drain', 'drain'], ['handlers', 'handlers'], ['done', 'done']], 'the observer sees each phase');
  const { level: _level, time: _time, msg: _msg, phase: _phase, pid: _pid, component: _component, ...logged } = record;
  const { durationMs: _a, ...observedRecord } = observed[3]!.record as Record<string, unknown>;
  const { durationMs: _b, ...loggedRecord } = logged;
  t.same(observedRecord, loggedRecord, 'the observer gets the logged record');
});

t.test('a job longer than the deadline is cut and reported; failureExitCode, within the grace period', async (t) => {
  const { app } = await startApp(t, { DEPUTY_GRACE_PERIOD: '1500ms', TIMEOUT_MS: '500', FAILURE_EXIT_CODE: '3' });
  app.send('job forever 60000');
  app.send('stoppable polite');
  await app.waitForLog((r) => r.msg === 'job started' && r.job === 'polite');
  app.process.kill('SIGTERM');
  t.equal((await app.exited).status, 3, 'failureExitCode');
  const started = find(app, 'shutdown started');
  t.same([started?.cause, started?.signal], ['signal', 'SIGTERM']);
  const warned = find(app, 'tracked work still running');
  t.equal(warned?.level, 'warn');
  t.match(warned?.msg, /1 tracked work still running \(forever\).*deputy\.signal/, 'names the work and the fix');
  t.ok(logIndex(app.logs, 'handler ran') > logIndex(app.logs, 'tracked work still running'), 'the handlers still run');
  const record = last(app);
  t.match(record, {
    level: 'error',
    msg: /1 tracked work cut/,
    cause: 'signal',
    signal: 'SIGTERM',
    exitCode: 3,
    phases: { drain: { outcome: 'deadline' }, handlers: { outcome: 'done' } },
    tracked: { inFlightAtStart: 2, finished: 1, cut: 1, cutNames: ['forever'] },
  });
  // On the child's own clock: the drain deadline is 1500 − min(500, 750) = 1000 ms after the start.
  const elapsedMs = at(record) - at(started);
  t.ok(elapsedMs >= 950 && elapsedMs < 1500, `ended ${elapsedMs} ms after the start, within the 1500 ms grace period`);
});

t.test('shutdownOnCrash: a throw in a timer with a request in flight — the request completes, the handlers run, exit 1', async (t) => {
  const { app, port } = await startApp(t, { SHUTDOWN_ON_CRASH: '1', DEPUTY_DRAIN_DELAY: '5s' });
  // Long enough that the response cannot go out before the crash begins the shutdown.
  const slow = get(port, '/slow?ms=1500');
  await app.waitForLog('slow request started');
  app.send('throw');
  const fatal = await app.waitForLog('uncaught exception; shutting down');
  t.equal(fatal.level, 'fatal');
  t.equal((fatal.err as { message?: string }).message, 'boom in a timer', 'with the error');
  t.same(await slow, { status: 200, body: 'slow 1500\n' }, 'the request in flight completes');
  t.equal((await app.exited).status, 1);
  t.ok(find(app, 'handler ran'), 'the handlers ran');
  t.equal(find(app, 'signal aborted')?.cause, 'crash');
  const record = last(app);
  t.match(record, {
    level: 'error',
    msg: /after a crash/,
    cause: 'crash',
    exitCode: 1,
    phases: { delay: { reason: 'crash', durationMs: 0 }, drain: { outcome: 'drained' }, handlers: { outcome: 'done' } },
    requests: { inFlightAtStart: 1, cut: 0 },
    connections: { closedGracefully: 1, destroyed: 0 },
  });
});

t.test('shutdownOnCrash: an unhandled rejection starts the shutdown too', async (t) => {
  const { app } = await startApp(t, { SHUTDOWN_ON_CRASH: '1', FAILURE_EXIT_CODE: '5' });
  app.send('reject');
  const fatal = await app.waitForLog('unhandled rejection; shutting down');
  t.equal((fatal.err as { message?: string }).message, 'nobody handles this');
  t.equal((await app.exited).status, 5);
  t.match(last(app), { cause: 'crash', exitCode: 5, phases: { handlers: { outcome: 'done' } } });
});

t.test('shutdownOnCrash: a second crash during the shutdown exits at once', async (t) => {
  const { app, port } = await startApp(t, { SHUTDOWN_ON_CRASH: '1' });
  // Settled at once into what happened, so that its rejection is never unhandled meanwhile.
  const slow = get(port, '/slow?ms=20000').then(
    (answer) => `answered ${answer.status}`,
    (error: NodeJS.ErrnoException) => error.code,
  );
  await app.waitForLog('slow request started');
  app.send('throw');
  await app.waitForLog('drain started');
  app.send('throw');
  t.equal((await app.exited).status, 1);
  t.equal(await slow, 'ECONNRESET', 'the request still in flight is cut by the exit');
  t.notOk(find(app, 'handler ran'), 'no handler ran');
  t.match(last(app), {
    level: 'fatal',
    msg: /uncaught exception during shutdown \(drain phase\); exiting now/,
    err: { message: 'boom in a timer' },
    cause: 'crash',
    exitCode: 1,
    phases: { drain: { outcome: 'interrupted' }, handlers: { outcome: 'not_reached' } },
    requests: { inFlightAtStart: 1 },
  });
});

t.test("without shutdownOnCrash a crash is Node's own: exit 1 at once, no shutdown", async (t) => {
  const { app } = await startApp(t);
  app.send('throw');
  t.equal((await app.exited).status, 1);
  t.notOk(find(app, 'shutdown started'));
  t.ok(app.logs.some((r) => r.level === 'raw' && /boom in a timer/.test(String(r.msg))), "Node's own report on stderr");
});

t.test('a blocked event loop flips readiness to 503 with event_loop_delay, and back', async (t) => {
  const { app, healthPort } = await startApp(t, { EVENT_LOOP_MAX_MS: '200' });
  app.send('ready');
  await app.waitForLog('ready');
  await until('ready', async () => (await get(healthPort, '/readyz')).status === 200);
  app.send('block 600');
  await app.waitForLog('unblocked');
  let failing: Answer | undefined;
  await until('503 after the block', async () => {
    const answer = await get(healthPort, '/readyz');
    if (answer.status === 503) failing = answer;
    return failing !== undefined;
  });
  t.same(JSON.parse(failing!.body), { status: 'not_ready', reasons: ['event-loop:event_loop_delay'] });
  const verbose = JSON.parse((await get(healthPort, '/readyz?verbose')).body) as { checks?: Array<{ message: string }> };
  t.match(verbose.checks?.[0]?.message ?? 'passed already', /held up for \d+ ms|passed already/);
  const recoveredMs = await until('200 again', async () => (await get(healthPort, '/readyz')).status === 200);
  t.ok(recoveredMs < 3000, `ready again ${recoveredMs} ms after the first 503`);
  app.send('shutdown');
  t.equal((await app.exited).status, 0);
  t.equal(last(app).cause, 'call', 'deputy.shutdown() from the app is cause "call"');
});

t.test('the example worker: terminate stops the consume loop, the job in hand finishes and is acked, then it leaves the broker', async (t) => {
  const sockets = new Set<Socket>();
  const acks: string[] = [];
  let onAck!: () => void;
  const acked = new Promise<void>((resolve) => (onAck = resolve));
  const broker = createTcpServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.setEncoding('utf8').on('data', (chunk: string) => {
      acks.push(...chunk.split('\n').filter(Boolean));
      onAck();
    });
  });
  await new Promise<void>((resolve) => broker.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    broker.close();
    sockets.forEach((s) => s.destroy());
  });
  const worker = spawnChild(t, process.execPath, [join(ROOT, 'examples', 'worker.js')], {
    BROKER_PORT: String((broker.address() as { port: number }).port),
    DEPUTY_HEALTH_CHECK_PORT: '0',
    DEPUTY_IPC_DIR: tempIpcDir(t),
    DEPUTY_DRAIN_DELAY: '0',
  });
  await worker.waitForLog('broker connected');
  const send = (line: string): void => sockets.forEach((s) => s.write(`${line}\n`));
  while (sockets.size === 0) await new Promise((resolve) => broker.once('connection', resolve));
  // Long enough for SIGTERM (delivered at once, unlike a spawned `deputy terminate`) to land mid-job.
  send('job 1 4000');
  await worker.waitForLog((r) => r.msg === 'job started' && r.id === '1');
  worker.process.kill('SIGTERM');
  await worker.waitForLog('taking no new jobs');
  send('job 2 0'); // after the loop stopped: never taken
  t.equal((await worker.exited).status, 0);
  await acked;
  t.same(acks, ['ack 1'], 'the job in hand was finished and acked; none taken after');
  t.notOk(worker.logs.some((r) => r.msg === 'job started' && r.id === '2'));
  t.ok(logIndex(worker.logs, 'job done') < logIndex(worker.logs, 'consumer stopped'), 'the broker is left after the job');
  t.match(last(worker), { msg: 'shutdown complete', cause: 'signal', signal: 'SIGTERM', tracked: { inFlightAtStart: 1, finished: 1, cut: 0 } });
});
