// Deputy: probe endpoints in every state, and shutdown exit statuses, against a real child process.
import t from 'tap';
import { request } from 'node:http';
import type { Test } from 'tap';
import { spawnFixture, type Child } from './helpers.js';

interface Answer {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

function http(port: number, path: string, method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function startApp(t: Test, env: NodeJS.ProcessEnv = {}): Promise<{ app: Child; port: number }> {
  const app = spawnFixture(t, 'deputy-app.js', env);
  const serving = await app.waitForLog('serving');
  return { app, port: serving.port as number };
}

const LIVE = ['/health/live', '/livez', '/healthz'];
const READY = ['/health/ready', '/readyz'];

t.test('endpoints before readied(), when ready, and during shutdown', async (t) => {
  const { app, port } = await startApp(t, { HANDLER: 'hold' });

  for (const path of LIVE) t.same([(await http(port, path)).status, JSON.parse((await http(port, path)).body)], [200, { status: 'ok' }], `${path} before ready`);
  for (const path of READY) {
    const answer = await http(port, path);
    t.equal(answer.status, 503, `${path} before ready`);
    t.same(JSON.parse(answer.body), { status: 'not_ready', reasons: ['not_started'] });
    t.match(answer.headers['content-type'], /^application\/json/);
  }
  t.equal((await http(port, '/startupz')).status, 503, 'startupz before ready');

  app.send('ready');
  await app.waitForLog('ready');
  for (const path of READY) t.same([(await http(port, path)).status, JSON.parse((await http(port, path)).body)], [200, { status: 'ready' }], `${path} when ready`);
  t.same(JSON.parse((await http(port, '/startupz')).body), { status: 'started' });
  t.equal((await http(port, '/readyz?verbose=1&x=y')).status, 200, 'query string ignored when matching');

  app.send('shutdown');
  await app.waitForLog('handler started');
  for (const path of READY) {
    const answer = await http(port, path);
    t.equal(answer.status, 503, `${path} during shutdown`);
    t.same(JSON.parse(answer.body), { status: 'not_ready', reasons: ['shutting_down'] });
  }
  for (const path of LIVE) t.equal((await http(port, path)).status, 200, `${path} stays 200 during shutdown`);
  t.equal((await http(port, '/startupz')).status, 200, 'startupz stays 200 during shutdown');

  const head = await http(port, '/readyz', 'HEAD');
  t.equal(head.status, 503, 'HEAD answers the same status');
  t.equal(head.body, '', 'HEAD has no body');
  t.ok(Number(head.headers['content-length']) > 0, 'HEAD carries the length of the GET body');

  for (const method of ['POST', 'PUT', 'DELETE']) {
    const answer = await http(port, '/healthz', method);
    t.equal(answer.status, 405, `${method} → 405`);
    t.equal(answer.headers.allow, 'GET, HEAD');
    t.same(JSON.parse(answer.body), { error: 'method_not_allowed' });
  }
  for (const path of ['/', '/nope', '/readyz/', '/health']) {
    const answer = await http(port, path);
    t.equal(answer.status, 404, `${path} → 404`);
    t.same(JSON.parse(answer.body), { error: 'not_found' });
  }

  app.send('release');
  t.equal((await app.exited).status, 0, 'clean shutdown exits 0');
});

t.test('shutdown before readied() reports both reasons', async (t) => {
  const { app, port } = await startApp(t, { HANDLER: 'hold' });
  app.send('shutdown');
  await app.waitForLog('handler started');
  t.same(JSON.parse((await http(port, '/readyz')).body).reasons, ['not_started', 'shutting_down']);
  app.send('release');
  await app.exited;
});

t.test('livenessFailsOnShutdown makes liveness 503 during shutdown', async (t) => {
  const { app, port } = await startApp(t, { HANDLER: 'hold', LIVENESS_FAILS: '1' });
  app.send('ready');
  await app.waitForLog('ready');
  t.equal((await http(port, '/livez')).status, 200);
  app.send('shutdown');
  await app.waitForLog('handler started');
  const answer = await http(port, '/livez');
  t.equal(answer.status, 503);
  t.same(JSON.parse(answer.body), { status: 'shutting_down' });
  app.send('release');
  await app.exited;
});

t.test('a hanging handler exits within timeout + 1 s with failureExitCode', async (t) => {
  const { app } = await startApp(t, { HANDLER: 'hang', TIMEOUT_MS: '300', FAILURE_EXIT_CODE: '7' });
  app.send('shutdown');
  const { status } = await app.exited;
  t.equal(status, 7);
  // Measured on the child's own clock (its log times), so a slow test runner cannot skew it;
  // the exit follows the error record synchronously.
  const started = app.logs.find((r) => r.msg === 'handler started');
  const gaveUp = app.logs.find((r) => r.level === 'error');
  t.match(gaveUp?.msg, /did not finish within 300 ms/);
  const elapsedMs = Date.parse(String(gaveUp?.time)) - Date.parse(String(started?.time));
  t.ok(elapsedMs >= 250 && elapsedMs < 300 + 1000, `gave up ${elapsedMs} ms after the handler started`);
});

t.test('a throwing or rejecting handler exits with failureExitCode and logs the error', async (t) => {
  for (const mode of ['throw', 'reject']) {
    const { app } = await startApp(t, { HANDLER: mode, FAILURE_EXIT_CODE: '4', SECOND_HANDLER: '1' });
    app.send('shutdown');
    t.equal((await app.exited).status, 4, `${mode}: failureExitCode`);
    const failure = app.logs.find((r) => r.msg === 'shutdown handler failed');
    t.match((failure?.err as { message?: string } | undefined)?.message, /handler (exploded|rejected)/, `${mode}: error logged`);
    t.notOk(app.logs.some((r) => r.msg === 'second handler ran'), `${mode}: later handlers do not run after a failure`);
  }
});

t.test('default failureExitCode is 1', async (t) => {
  const { app } = await startApp(t, { HANDLER: 'throw' });
  app.send('shutdown');
  t.equal((await app.exited).status, 1);
});

t.test("a handler's own process.exit(n) decides the status", async (t) => {
  const { app } = await startApp(t, { HANDLER: 'exit:42' });
  app.send('shutdown');
  t.equal((await app.exited).status, 42);
});

t.test('handlers run in order once; a second shutdown() is a no-op', async (t) => {
  const { app } = await startApp(t, { SECOND_HANDLER: '1' });
  app.send('shutdown-twice');
  t.equal((await app.exited).status, 0);
  t.equal(app.logs.filter((r) => r.msg === 'handler started').length, 1, 'first handler ran once');
  const first = app.logs.findIndex((r) => r.msg === 'handler finished');
  const second = app.logs.findIndex((r) => r.msg === 'second handler ran');
  t.ok(first >= 0 && second > first, 'second handler after the first');
  const started = app.logs.filter((r) => r.msg === 'shutdown started; readiness now failing');
  t.equal(started.length, 1, 'shutdown started once');
});

t.test('a runtime error on the listening health server is logged, not fatal', async (t) => {
  const { app, port } = await startApp(t);
  app.send('server-error');
  await app.waitForLog('server error emitted');
  const logged = await app.waitForLog('health server error');
  t.equal(logged.level, 'error');
  t.match(logged.msg, /EMFILE/, 'names the error');
  t.equal((logged.err as { code?: string } | undefined)?.code, 'EMFILE', 'with the error itself');
  t.equal((await http(port, '/livez')).status, 200, 'the health server still answers');
  app.process.kill('SIGKILL');
  await app.exited;
});
