// The drain's connections, with a real server (test/fixtures/drain-app.js in a child process), raw
// sockets and real signals: an idle keep-alive socket keeps its advertised timeout, upgraded
// connections (WebSocket, CONNECT) are never closed as idle, and slow or malformed clients cannot
// extend the drain.
import t from 'tap';
import { Agent } from 'node:http';
import { connect as netConnect, type Socket } from 'node:net';
import { get, record, socketClosed, startApp } from './drain-helpers.js';

t.test('an idle keep-alive socket is not closed before its advertised timeout, and is served if reused meanwhile', async (t) => {
  // timeout=3 advertised. This Agent has no `timeout` option, so it ignores the hint and keeps
  // the socket until the server closes it — the drain must not close it before 3 s idle.
  const keepAliveMs = 3000;
  const { app, port } = await startApp(t, { KEEP_ALIVE_MS: String(keepAliveMs) });
  // Two idle sockets from before shutdown: one stays idle, one is reused after listening stopped.
  const idle = await get(port, '/', new Agent({ keepAlive: true }));
  const idleSince = Date.now();
  const reusedAgent = new Agent({ keepAlive: true });
  const reused = await get(port, '/', reusedAgent);
  t.equal(idle.headers['keep-alive'], 'timeout=3');
  const idleClosed = socketClosed(idle.socket);

  app.process.kill('SIGTERM');
  await app.waitForLog('drain started');
  const again = await get(port, '/', reusedAgent);
  t.equal(again.socket, reused.socket, 'the pre-shutdown socket was reused after listening stopped');
  t.equal(again.status, 200, 'and the request on it was served');
  t.equal(again.headers.connection, 'close');

  const closedAt = await idleClosed;
  // The server's clock starts when it finished the response, a little before we saw it.
  t.ok(closedAt - idleSince >= keepAliveMs - 250, `idle socket closed ${closedAt - idleSince} ms after its last response (keepAliveTimeout ${keepAliveMs})`);
  t.equal((await app.exited).status, 0);
  const drained = record(app, 'drain complete');
  t.equal(drained.outcome, 'drained');
  t.equal(drained.closedIdle, 1, 'one socket closed as idle');
  reusedAgent.destroy();
});

/** A raw socket that sends `head` and resolves once the response head has come back. */
async function tunnel(port: number, head: string): Promise<Socket> {
  const socket = netConnect(port, '127.0.0.1');
  socket.on('error', () => {});
  socket.write(head);
  let received = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      received += chunk.toString('latin1');
      if (received.includes('\r\n\r\n')) {
        socket.off('data', onData);
        resolve();
      }
    };
    socket.on('data', onData);
    socket.once('close', () => reject(new Error(`closed before the response head: ${received}`)));
  });
  return socket;
}

/** Resolves with what the echoing peer sent back, or rejects if the socket closes first. */
function echo(socket: Socket, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    if (socket.destroyed) return reject(new Error('socket already closed'));
    socket.once('data', (chunk: Buffer) => resolve(chunk.toString()));
    socket.once('close', () => reject(new Error('socket closed')));
    socket.write(text);
  });
}

t.test('upgraded connections (WebSocket, CONNECT) are never closed as idle: they last until closed or the deadline', async (t) => {
  // keepAliveTimeout 500 ms and a 600 ms delay: when the drain starts both upgraded sockets are
  // older than the Keep-Alive hint, so an idle close would hit them at once. Grace 4 s, the
  // handler's share 2 s: the drain deadline is 2 s after SIGTERM.
  const { app, port } = await startApp(t, { KEEP_ALIVE_MS: '500', DEPUTY_DRAIN_DELAY: '600ms', DEPUTY_GRACE_PERIOD: '4s' });
  const ws = await tunnel(port, 'GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n');
  const connect = await tunnel(port, 'CONNECT example.test:443 HTTP/1.1\r\nHost: example.test:443\r\n\r\n');
  t.teardown(() => {
    ws.destroy();
    connect.destroy();
  });
  const connectClosed = socketClosed(connect);
  app.process.kill('SIGTERM');
  const started = await app.waitForLog('drain started');
  t.equal(started.upgraded, 2, 'the drain start counts the upgraded connections');
  t.match(started.msg, /2 upgraded \(WebSocket\/CONNECT\) connections, which stay open until the app closes them or the drain deadline/);
  t.equal(await echo(ws, 'ping'), 'ping', 'the upgraded socket still works during the drain');
  t.equal(await echo(connect, 'pong'), 'pong', 'the CONNECT tunnel still works during the drain');
  ws.end(); // the WebSocket ends on its own; the tunnel stays until the deadline
  const closedAt = await connectClosed;
  t.equal((await app.exited).status, 0);
  const drained = record(app, 'drain deadline reached');
  t.ok(closedAt >= Date.parse(String(drained.time)) - 100, 'the tunnel was closed at the deadline, not before');
  t.equal(drained.upgraded, 2);
  t.equal(drained.upgradedClosed, 1, 'the one that ended on its own');
  t.equal(drained.upgradedCut, 1, 'the one cut at the deadline');
  t.equal(drained.destroyed, 1);
  t.equal(drained.closedIdle, 0, 'none counted as idle');
  t.match(drained.msg, /1 upgraded \(WebSocket\/CONNECT\) connections/);
});

t.test('slow or malformed clients during the drain cannot extend it', async (t) => {
  const { app, port } = await startApp(t, { KEEP_ALIVE_MS: '500', DEPUTY_GRACE_PERIOD: '20s' });
  const slowloris = netConnect(port, '127.0.0.1');
  await new Promise((resolve) => slowloris.once('connect', resolve));
  slowloris.on('error', () => {});
  slowloris.write('GET / HTTP/1.1\r\nHost: x\r\n');
  const trickle = setInterval(() => slowloris.writable && slowloris.write('X-A: b\r\n'), 100);
  t.teardown(() => clearInterval(trickle));
  const garbage = netConnect(port, '127.0.0.1');
  garbage.on('error', () => {});
  garbage.write('NOT HTTP AT ALL\r\n\r\n');
  app.process.kill('SIGTERM');
  const { status } = await app.exited;
  clearInterval(trickle);
  t.equal(status, 0);
  const drained = record(app, 'drain complete');
  t.equal(drained.outcome, 'drained', 'drained long before the 20 s deadline');
  t.equal(drained.destroyed, 0);
  slowloris.destroy();
  garbage.destroy();
});
