// End to end in a real Docker engine: an image whose STOPSIGNAL is SIGQUIT (as the official nginx
// image's is; a pod's lifecycle.stopSignal does the same through the kubelet). `docker stop`
// sends SIGQUIT, not SIGTERM. With DEPUTY_STOP_SIGNALS=SIGQUIT the entrypoint treats it as SIGTERM:
// the app's graceful handler runs, in-flight requests complete, exit 0. Without it the signal is
// only passed on and Node's default action for SIGQUIT kills the app (131), requests and all.
import t, { type Test } from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Child } from '../helpers.js';
import { APP_IMAGE, skipOrFail, startEngine, type Engine } from './engine.js';

t.setTimeout(170_000);

const QUIT_IMAGE = 'deputy-e2e-stopsignal-quit:1';
const SHIM = '/app/node_modules/k8s-deputy/shim/supervise.sh';
/** Host network (requests from the test), read-only root with a tmpfs at /run, free ports. */
const RUN = ['--network', 'host', '--read-only', '--tmpfs', '/run:uid=1000,gid=1000', '-e', 'PORT=0', '-e', 'DEPUTY_HEALTH_CHECK_PORT=0', '-e', 'DEPUTY_HEALTH_CHECK_HOST=127.0.0.1'];

/** The example image with `STOPSIGNAL SIGQUIT`, built on the engine. */
async function buildQuitImage(engine: Engine): Promise<void> {
  const context = mkdtempSync(join(tmpdir(), 'deputy-stopsignal-'));
  try {
    writeFileSync(join(context, 'Dockerfile'), `FROM ${APP_IMAGE}\nSTOPSIGNAL SIGQUIT\n`);
    const built = await engine.docker(['build', '-q', '-t', QUIT_IMAGE, context], 60_000);
    if (built.status !== 0) throw new Error(`docker build of the STOPSIGNAL SIGQUIT image failed: ${built.stderr.trim()}`);
  } finally {
    rmSync(context, { recursive: true, force: true });
  }
  const inspected = await engine.docker(['image', 'inspect', '--format', '{{.Config.StopSignal}}', QUIT_IMAGE]);
  if (inspected.stdout.trim() !== 'SIGQUIT') throw new Error(`the image's StopSignal is ${JSON.stringify(inspected.stdout.trim())}, not SIGQUIT`);
}

/** A request that resolves with its outcome, never rejects (the app may die under it). */
async function slowRequest(port: number, ms: number): Promise<{ status: number; body: string; connection: string | null } | { error: string }> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/slow?ms=${ms}`, { signal: AbortSignal.timeout(30_000) });
    return { status: response.status, body: await response.text(), connection: response.headers.get('connection') };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

/** Runs the image with `args`, sends two slow requests, `docker stop`s it; returns the outcome. */
async function stopUnderLoad(t: Test, engine: Engine, args: readonly string[]): Promise<{ status: number; logs: Child; responses: Awaited<ReturnType<typeof slowRequest>>[] }> {
  const id = await engine.run(t, [...RUN, ...args]);
  const logs = engine.logs(t, id);
  const app = await logs.waitForLog('app listening', 30_000);
  const requests = [3000, 3000].map((ms) => slowRequest(Number(app.port), ms));
  await logs.waitForLog(() => logs.logs.filter((r) => r.msg === 'slow request started').length === 2);
  const stop = await engine.docker(['stop', '-t', '20', id]);
  t.equal(stop.status, 0, `docker stop (${stop.stderr.trim()})`);
  const status = await engine.wait(id);
  await logs.exited;
  return { status, logs, responses: await Promise.all(requests) };
}

function assertGraceful(t: Test, outcome: Awaited<ReturnType<typeof stopUnderLoad>>): void {
  const { status, logs, responses } = outcome;
  t.equal(status, 0, 'exit 0: graceful, not 131 (SIGQUIT) nor 137 (SIGKILL)');
  t.ok(
    logs.logs.some((r) => (r.msg === 'signal received' || String(r.msg).includes('sent terminate')) && r.signal === 'SIGQUIT'),
    'the entrypoint received SIGQUIT from docker stop',
  );
  t.ok(logs.logs.some((r) => r.msg === 'terminate requested; running the graceful terminator' && r.via === 'socket'), "the app's graceful handler ran, via its socket");
  t.ok(logs.logs.some((r) => r.msg === 'shutdown complete'), 'shutdown completed');
  for (const response of responses) t.same(response, { status: 200, body: 'slow hello after 3000 ms\n', connection: 'close' }, 'the in-flight request completed');
}

async function flows(engine: Engine): Promise<void> {
  await buildQuitImage(engine);

  t.test('STOPSIGNAL SIGQUIT, deputy supervise with DEPUTY_STOP_SIGNALS=SIGQUIT: docker stop drains the app, exit 0', async (t) => {
    assertGraceful(t, await stopUnderLoad(t, engine, ['-e', 'DEPUTY_STOP_SIGNALS=SIGQUIT', QUIT_IMAGE]));
  });

  t.test('STOPSIGNAL SIGQUIT, shim/supervise.sh with DEPUTY_STOP_SIGNALS=QUIT: the same', async (t) => {
    assertGraceful(t, await stopUnderLoad(t, engine, ['-e', 'DEPUTY_STOP_SIGNALS=QUIT', '--entrypoint', SHIM, QUIT_IMAGE, 'node', 'http-app.js']));
  });

  t.test('STOPSIGNAL SIGQUIT without DEPUTY_STOP_SIGNALS: SIGQUIT is only passed on and kills the app (131), requests fail', async (t) => {
    const { status, logs, responses } = await stopUnderLoad(t, engine, [QUIT_IMAGE]);
    t.equal(status, 131, "128 + SIGQUIT: Node's default action, no graceful shutdown");
    t.notOk(logs.logs.some((r) => r.msg === 'terminate requested; running the graceful terminator'), 'the graceful handler never ran');
    t.ok(
      responses.every((response) => 'error' in response),
      `the in-flight requests failed (${JSON.stringify(responses)})`,
    );
  });
}

const engine = await startEngine(t);
if (typeof engine === 'string') {
  skipOrFail(t, engine);
} else {
  await flows(engine);
}
