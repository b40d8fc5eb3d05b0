// shim/probe.sh against a real Deputy health server, and against servers that misbehave.
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { ROOT, spawnFixture } from './helpers.js';

const PROBE = join(ROOT, 'shim', 'probe.sh');

/** Runs probe.sh to completion (asynchronously: the server under test lives in this process too). */
function probe(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(PROBE, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

async function listen(t: Test, onConnection: (socket: Socket) => void): Promise<number> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {}); // the probe may reset a connection the server already ended
    onConnection(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.close();
    for (const socket of sockets) socket.destroy();
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return address.port;
}

t.test('against a Deputy: live, ready, startup before and after readied()', async (t) => {
  const app = spawnFixture(t, 'deputy-app.js');
  const { port } = await app.waitForLog('serving');
  const at = String(port);

  const live = await probe(['live', at]);
  t.equal(live.status, 0, 'live is healthy from the start');
  t.equal(live.stdout, 'live: healthy: 200 {"status":"ok"}\n');
  const notReady = await probe(['ready', at]);
  t.equal(notReady.status, 1, 'not ready before readied()');
  t.match(notReady.stdout, /^ready: unhealthy: 503 .*not_started/);
  t.equal((await probe(['startup', at])).status, 1, 'not started before readied()');

  app.send('ready');
  await app.waitForLog('ready');
  t.equal((await probe(['ready', at])).status, 0, 'ready after readied()');
  t.equal((await probe(['startup', at])).status, 0, 'started after readied()');
  t.equal((await probe(['ready'], { DEPUTY_HEALTH_CHECK_PORT: at })).status, 0, 'port from DEPUTY_HEALTH_CHECK_PORT');
  t.equal((await probe(['ready', at], { DEPUTY_HEALTH_CHECK_HOST: '0.0.0.0' })).status, 0, 'a wildcard host means loopback');
});

t.test('unreachable → 2', async (t) => {
  const port = await listen(t, (socket) => socket.destroy());
  // Take a port that was free a moment ago and is closed now.
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const closed = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  const result = await probe(['live', String(closed)]);
  t.equal(result.status, 2);
  t.equal(result.stdout, `live: unreachable: cannot connect to 127.0.0.1 port ${closed}\n`);
  t.equal(result.stderr, '', 'bash’s own connect error is not shown');
  t.not(port, closed);
});

t.test('a server that accepts but never answers → 1 after DEPUTY_PROBE_TIMEOUT', async (t) => {
  const held: Socket[] = [];
  const port = await listen(t, (socket) => void held.push(socket));
  t.teardown(() => held.forEach((socket) => socket.destroy()));
  const result = await probe(['ready', String(port)], { DEPUTY_PROBE_TIMEOUT: '0.2' });
  t.equal(result.status, 1);
  t.match(result.stdout, /no answer within 0\.2s/);
});

t.test('a server that keeps the connection open after a whole answer → judged at DEPUTY_PROBE_TIMEOUT', async (t) => {
  // HTTP/1.0 asks the server to close; one that does not is read until the deadline, then judged
  // on what came, its body cut at Content-Length.
  const port = await listen(t, (socket) =>
    socket.once('data', () => socket.write('HTTP/1.1 200 OK\r\ncontent-length: 15\r\n\r\n{"status":"ok"}trailing')),
  );
  const started = Date.now();
  const result = await probe(['live', String(port)], { DEPUTY_PROBE_TIMEOUT: '0.3' });
  t.equal(result.status, 0);
  t.equal(result.stdout, 'live: healthy: 200 {"status":"ok"}\n');
  t.ok(Date.now() - started >= 300, 'it waited for the close until the deadline');
});

t.test('a status line and headers cut short by a close → judged on the status', async (t) => {
  const port = await listen(t, (socket) => socket.once('data', () => socket.end('HTTP/1.1 503 Service Unavailable\r\nx-partial: yes')));
  const result = await probe(['ready', String(port)]);
  t.equal(result.status, 1);
  t.equal(result.stdout, 'ready: unhealthy: 503 \n');
});

t.test('a non-HTTP answer → 2 (as deputy probe); a 500 → 1', async (t) => {
  const garbage = await listen(t, (socket) => socket.end('SSH-2.0-OpenSSH\r\n'));
  const result = await probe(['live', String(garbage)]);
  t.equal(result.status, 2);
  t.match(result.stdout, /unreachable: not an HTTP answer/);
  const failing = await listen(t, (socket) =>
    socket.once('data', () => socket.end('HTTP/1.1 500 Internal Server Error\r\ncontent-length: 2\r\n\r\n{}')),
  );
  const error = await probe(['live', String(failing)]);
  t.equal(error.status, 1);
  t.equal(error.stdout, 'live: unhealthy: 500 {}\n');
});

t.test('usage errors → 3, --help → 0', async (t) => {
  for (const args of [[], ['alive'], ['live', 'http'], ['live', '70000'], ['live', '1', 'extra']]) {
    const result = await probe(args);
    t.equal(result.status, 3, args.join(' ') || '(no arguments)');
    t.match(result.stderr, /^probe\.sh: .*--help/);
  }
  const help = await probe(['--help']);
  t.equal(help.status, 0);
  t.match(help.stdout, /live\|ready\|startup/);
});
