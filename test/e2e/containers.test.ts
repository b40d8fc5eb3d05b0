// End to end in a real Docker engine: the example image built from examples/Dockerfile, run,
// probed, put under requests, terminated the way Docker and Kubernetes do it. Every container and
// the private daemon are removed by id and pid at teardown (see engine.ts).
import t, { type Test } from 'tap';
import { join } from 'node:path';
import { FIXTURES, logIndex, type Child, type LogRecord } from '../helpers.js';
import { APP_IMAGE, skipOrFail, startEngine, type Engine } from './engine.js';

t.setTimeout(170_000);

/** Common `docker run` flags: host network (probes from the host, as the kubelet's come from outside), read-only root with a tmpfs at /run. */
const RUN = ['--network', 'host', '--read-only', '--tmpfs', '/run:uid=1000,gid=1000', '-e', 'PORT=0', '-e', 'DEPUTY_HEALTH_CHECK_PORT=0', '-e', 'DEPUTY_HEALTH_CHECK_HOST=127.0.0.1'];

async function get(url: string): Promise<{ status: number; body: string; connection: string | null }> {
  const response = await fetch(url, { signal: AbortSignal.timeout(15_000) });
  return { status: response.status, body: await response.text(), connection: response.headers.get('connection') };
}

/** Asserts that in-flight requests completed after shutdown began, told to close (drained, not raced). */
function assertDrained(t: Test, responses: ReadonlyArray<{ status: number; body: string; connection: string | null }>, logs: Child, ms: number): void {
  for (const response of responses) {
    t.same([response.status, response.body], [200, `slow hello after ${ms} ms\n`], 'in-flight request completed');
    t.equal(response.connection, 'close', 'answered during the drain: Connection: close');
  }
  const shutdownAt = logIndex(logs.logs, 'shutdown started');
  const answeredAt = logs.logs.findIndex((r) => r.msg === 'slow request answered');
  t.ok(shutdownAt >= 0 && answeredAt > shutdownAt, 'the requests were still in flight when shutdown began');
}

/** Resolves once `count` records match (already seen or future). */
async function waitForCount(child: Child, match: (record: LogRecord) => boolean, count: number): Promise<void> {
  await child.waitForLog(() => child.logs.filter(match).length >= count);
}

/** Starts an app container and waits until it serves; returns its ports and log follower. */
async function startApp(t: Test, engine: Engine, args: readonly string[]): Promise<{ id: string; logs: Child; port: number; healthPort: number }> {
  const id = await engine.run(t, [...RUN, ...args]);
  const logs = engine.logs(t, id);
  const health = await logs.waitForLog('health server listening', 30_000);
  const app = await logs.waitForLog('app listening', 30_000);
  return { id, logs, port: Number(app.port), healthPort: Number(health.port) };
}

async function flows(engine: Engine): Promise<void> {
  t.test('node as PID 1: `docker exec … deputy terminate` runs the callback, readiness flips, in-flight requests complete, exit 0', async (t) => {
    // The drain delay keeps the app serving (and its readiness visible) after terminate, and the
    // requests are long enough to stay in flight however slow `docker exec` is on a busy machine.
    const { id, logs, port, healthPort } = await startApp(t, engine, ['-e', 'DEPUTY_DRAIN_DELAY=2s', '--entrypoint', 'node', APP_IMAGE, 'http-app.js']);
    t.match(await get(`http://127.0.0.1:${healthPort}/readyz`), { status: 200, body: '{"status":"ready"}' }, 'ready before termination');

    const slowRequests = [5000, 5000, 5000].map((ms) => get(`http://127.0.0.1:${port}/slow?ms=${ms}`));
    await waitForCount(logs, (r) => r.msg === 'slow request started', 3);

    // PID 1 exiting would kill a waiting `deputy terminate` with it (the FailedPreStopHook case the
    // supervisor exists for), so the hook here only sends.
    const terminate = await engine.docker(['exec', id, 'deputy', 'terminate', '--no-wait']);
    t.equal(terminate.status, 0, `deputy terminate exits 0 (${terminate.stderr.trim()})`);
    await logs.waitForLog('shutdown started; readiness now failing');
    const ready = await get(`http://127.0.0.1:${healthPort}/readyz`);
    t.equal(ready.status, 503, 'readiness fails once shutdown began');
    t.match(JSON.parse(ready.body), { reasons: ['shutting_down'] });
    t.equal((await get(`http://127.0.0.1:${healthPort}/livez`)).status, 200, 'liveness stays green');

    t.equal(await engine.wait(id), 0, 'the container exits 0');
    await logs.exited;
    assertDrained(t, await Promise.all(slowRequests), logs, 5000);
    t.ok(logs.logs.some((r) => r.msg === 'terminate requested; running the graceful terminator' && r.via === 'socket'), 'the callback ran, via the socket');
    t.ok(logs.logs.some((r) => r.msg === 'shutdown complete' && r.exitCode === 0), 'shutdown completed');
  });

  t.test('node as PID 1: `docker stop -t 20` sends SIGTERM; the app finishes its request and exits 0 long before the SIGKILL', async (t) => {
    const { id, logs, port } = await startApp(t, engine, ['--entrypoint', 'node', APP_IMAGE, 'http-app.js']);
    const slow = get(`http://127.0.0.1:${port}/slow?ms=3000`);
    await logs.waitForLog('slow request started');
    const stopStarted = Date.now();
    const stop = await engine.docker(['stop', '-t', '20', id]);
    t.equal(stop.status, 0);
    t.comment(`docker stop → container gone: ${Date.now() - stopStarted} ms (includes the 3 s request)`);
    t.match(await slow, { status: 200, body: 'slow hello after 3000 ms\n' }, 'in-flight request completed');
    t.equal(await engine.wait(id), 0, 'exit 0: graceful, not the 137 of docker’s SIGKILL');
    await logs.exited;
    t.ok(logs.logs.some((r) => r.msg === 'terminate requested; running the graceful terminator' && r.via === 'SIGTERM'), 'the callback ran on SIGTERM');
  });

  t.test('an app that ignores terminate, as PID 1 with no supervisor, is SIGKILLed by docker: 137', async (t) => {
    const id = await engine.run(t, [...RUN, '--entrypoint', 'node', APP_IMAGE, 'stubborn-app.js']);
    const logs = engine.logs(t, id);
    await logs.waitForLog('stubborn app running', 30_000);
    await engine.docker(['stop', '-t', '1', id]);
    t.equal(await engine.wait(id), 137, 'killed by docker after its 1 s grace');
    t.ok(logs.logs.some((r) => r.msg === 'callback ran; ignoring terminate'), 'the callback did run');
  });

  t.test('the non-HTTP worker, node as PID 1: `docker stop` lets the running job finish, starts no new one, exit 0', async (t) => {
    const id = await engine.run(t, [...RUN, '-e', 'JOB_MS=1000', '--entrypoint', 'node', APP_IMAGE, 'job-worker.js']);
    const logs = engine.logs(t, id);
    await logs.waitForLog('job started', 30_000);
    await engine.docker(['stop', '-t', '20', id]);
    t.equal(await engine.wait(id), 0, 'exit 0');
    await logs.exited;
    const terminateAt = logIndex(logs.logs, 'terminate requested');
    t.ok(terminateAt >= 0, 'terminate reached the worker');
    const started = logs.logs.flatMap((r, i) => (r.msg === 'job started' ? [{ job: r.job, i }] : []));
    t.ok(started.every(({ i }) => i < terminateAt), 'no job started after terminate');
    const last = started.at(-1)!.job;
    t.ok(logs.logs.findIndex((r) => r.msg === 'job finished' && r.job === last) > terminateAt, `the running job (${String(last)}) finished after terminate`);
  });

  t.test('deputy supervise as the ENTRYPOINT: probe, in-flight requests, preStop `deputy terminate`, then `docker stop`', async (t) => {
    const { id, logs, port, healthPort } = await startApp(t, engine, ['-e', 'DEPUTY_DRAIN_DELAY=2s', APP_IMAGE]);
    const probed = await engine.docker(['exec', id, 'deputy', 'probe', '--ready', '--host', '127.0.0.1', '--port', String(healthPort)]);
    t.equal(probed.status, 0, `deputy probe --ready exits 0 (${probed.stdout.trim()})`);
    const slowRequests = [5000, 5000].map((ms) => get(`http://127.0.0.1:${port}/slow?ms=${ms}`));
    await waitForCount(logs, (r) => r.msg === 'slow request started', 2);
    // The kubelet's order: the preStop hook runs to completion, then SIGTERM to PID 1.
    const preStop = engine.docker(['exec', id, 'deputy', 'terminate']);
    await logs.waitForLog('shutdown started; readiness now failing');
    t.equal((await get(`http://127.0.0.1:${healthPort}/readyz`)).status, 503, 'readiness flipped');
    const hook = await preStop;
    t.equal(hook.status, 0, `the preStop command returned 0 (${hook.stderr.trim()})`);
    await engine.docker(['stop', '-t', '20', id]);
    t.equal(await engine.wait(id), 0, "the app's exit status passes through the supervisor");
    await logs.exited;
    assertDrained(t, await Promise.all(slowRequests), logs, 5000);
    t.ok(logs.logs.some((r) => r.msg === 'shutdown complete'), 'the callback ran and shutdown completed');
  });

  t.test('deputy supervise: an app that ignores terminate is killed at DEPUTY_TIMEOUT with DEPUTY_TIMEOUT_EXIT_CODE, before docker’s SIGKILL', async (t) => {
    const id = await engine.run(t, [...RUN, '-e', 'DEPUTY_TIMEOUT=1s', '-e', 'DEPUTY_TIMEOUT_EXIT_CODE=99', APP_IMAGE, 'node', 'stubborn-app.js']);
    const logs = engine.logs(t, id);
    await logs.waitForLog('stubborn app running', 30_000);
    await engine.docker(['stop', '-t', '60', id]);
    t.equal(await engine.wait(id), 99, 'the configured status: the supervisor killed it, not docker (137)');
    t.ok(logs.logs.some((r) => r.msg === 'callback ran; ignoring terminate'), 'terminate reached the app first');
  });

  t.test('shim/supervise.sh as the entrypoint: graceful stop and timeout kill', async (t) => {
    const shim = '/app/node_modules/k8s-deputy/shim/supervise.sh';
    const { id, logs, port } = await startApp(t, engine, ['--entrypoint', shim, APP_IMAGE, 'node', 'http-app.js']);
    const slow = get(`http://127.0.0.1:${port}/slow?ms=3000`);
    await logs.waitForLog('slow request started');
    await engine.docker(['stop', '-t', '20', id]);
    t.match(await slow, { status: 200, body: 'slow hello after 3000 ms\n' }, 'in-flight request completed');
    t.equal(await engine.wait(id), 0, 'exit 0 through the shim');

    const stubborn = await engine.run(t, [...RUN, '-e', 'DEPUTY_TIMEOUT=1s', '-e', 'DEPUTY_TIMEOUT_EXIT_CODE=99', '--entrypoint', shim, APP_IMAGE, 'node', 'stubborn-app.js']);
    const stubbornLogs = engine.logs(t, stubborn);
    await stubbornLogs.waitForLog('stubborn app running', 30_000);
    await engine.docker(['stop', '-t', '60', stubborn]);
    t.equal(await engine.wait(stubborn), 99, 'killed by the shim at its timeout with the configured status');
  });
}

const engine = await startEngine(t, [join(FIXTURES, 'e2e', 'stubborn-app.js')]);
if (typeof engine === 'string') {
  skipOrFail(t, engine);
} else {
  await flows(engine);
}
