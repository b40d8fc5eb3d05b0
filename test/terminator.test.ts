// gracefulTerminator / gracefulTerminate across real processes, sockets and signals.
import t from 'tap';
import { existsSync, lstatSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import unix from 'unix-dgram';
import { gracefulTerminator } from '../src/ipc/terminator.js';
import { gracefulTerminate } from '../src/ipc/terminate-sender.js';
import { entrypointPidPath, socketPath } from '../src/contract/protocol.js';
import {
  AlreadyRegisteredError,
  IpcDirError,
  MalformedPidFileError,
  NoSocketError,
  SocketPathOccupiedError,
  SocketPathTooLongError,
  StaleSocketError,
  TerminateTimeoutError,
} from '../src/contract/errors.js';
import { FIXTURES, logIndex, setEnv, spawnChild, spawnFixture, tempIpcDir, useIpcDir } from './helpers.js';

/** Leaves a socket file with nobody bound to it, as a killed process would. */
function plantStaleSocket(path: string): void {
  const socket = unix.createSocket('unix_dgram');
  socket.bind(path);
  socket.close(); // close() does not unlink: the file stays behind
}

/** Sends one datagram, retrying while the receiver's queue is full. */
async function sendRaw(path: string, payload: Buffer): Promise<void> {
  const client = unix.createSocket('unix_dgram');
  try {
    for (;;) {
      const error = await new Promise<{ code: number } | undefined>((resolve) => client.send(payload, 0, payload.length, path, resolve));
      if (!error) return;
      // 1 = unix-dgram's "congestion" (EAGAIN): the receiver is behind, wait for it
      if (error.code !== 1 && error.code !== -11) throw new Error(`send failed: ${error.code}`);
      await new Promise((resolve) => setImmediate(resolve));
    }
  } finally {
    client.close();
  }
}

t.test('the entrypoint case: callback runs, its process.exit(2) is the status, files removed', async (t) => {
  const dir = useIpcDir(t);
  const app = spawnFixture(t, 'terminator-app.js', { DEPUTY_IPC_DIR: dir, EXIT_CODE: '2' });
  await app.waitForLog('registered');
  const sock = socketPath(app.pid, dir);
  t.equal(readFileSync(entrypointPidPath(dir), 'utf8'), `${app.pid}\n`, 'pid file holds the pid and a newline');
  t.ok(lstatSync(sock).isSocket(), 'socket bound at the contract path');
  t.equal(statSync(sock).mode & 0o777, 0o600, 'socket mode 0600');

  const terminated = gracefulTerminate(undefined, { timeoutMs: 10_000 }); // default target: the pid file
  const { status } = await app.exited;
  await terminated;
  t.equal(status, 2, "the callback's exit status passes through");
  const requested = logIndex(app.logs, 'terminate requested');
  const ran = logIndex(app.logs, 'callback ran');
  t.ok(requested >= 0 && ran > requested, 'logs: terminate requested, then callback ran');
  t.equal(app.logs[requested]?.via, 'socket');
  t.notOk(existsSync(sock), 'socket removed at exit');
  t.notOk(existsSync(entrypointPidPath(dir)), 'pid file removed at exit');
});

t.test('two processes with setEntrypoint false are terminated by pid', async (t) => {
  const dir = useIpcDir(t);
  const env = { DEPUTY_IPC_DIR: dir, EXIT_CODE: '0', SET_ENTRYPOINT: 'false' };
  const a = spawnFixture(t, 'terminator-app.js', env);
  const b = spawnFixture(t, 'terminator-app.js', env);
  await Promise.all([a.waitForLog('registered'), b.waitForLog('registered')]);
  t.notOk(existsSync(entrypointPidPath(dir)), 'no pid file written');

  await gracefulTerminate(a.pid, { timeoutMs: 10_000 });
  t.equal((await a.exited).status, 0, 'a exited');
  t.equal(b.process.exitCode, null, 'b still runs');
  t.equal(logIndex(b.logs, 'callback ran'), -1, "b's callback did not run");

  await gracefulTerminate(b.pid, { timeoutMs: 10_000 });
  t.equal((await b.exited).status, 0, 'b exited');
  await t.rejects(gracefulTerminate(undefined, { timeoutMs: 1000 }), NoSocketError, 'no pid file: pid 1 is the target, and it has no socket here');
});

t.test('bind after a restart: a stale socket at our path is removed', async (t) => {
  const dir = useIpcDir(t);
  const app = spawnFixture(t, 'terminator-app.js', { DEPUTY_IPC_DIR: dir, EXIT_CODE: '0', WAIT_FOR_GO: '1' });
  await app.waitForLog('waiting for go');
  const sock = socketPath(app.pid, dir);
  plantStaleSocket(sock);
  await t.rejects(gracefulTerminate(app.pid, { wait: false }), StaleSocketError, 'a stale socket is reported as such');
  app.send('go');
  await app.waitForLog('registered');
  t.ok(logIndex(app.logs, 'removed stale socket') >= 0, 'logged the removal');
  await gracefulTerminate(app.pid, { timeoutMs: 10_000 });
  t.equal((await app.exited).status, 0);
});

t.test('1,000 garbage and oversized datagrams are ignored; terminate still works', async (t) => {
  const dir = useIpcDir(t);
  const app = spawnFixture(t, 'terminator-app.js', { DEPUTY_IPC_DIR: dir, EXIT_CODE: '5' });
  await app.waitForLog('registered');
  const sock = socketPath(app.pid, dir);
  const near = ['terminat', 'terminate\n\n', 'TERMINATE', ' terminate', 'terminate\r\n', 'terminate\0', ''];
  for (let i = 0; i < 1000; i++) {
    let payload: Buffer;
    if (i % 10 === 0) payload = Buffer.alloc(100_000, 0x41); // over the receiver's 64 KiB buffer
    else if (i % 10 === 1) payload = Buffer.from(near[i % near.length]!);
    else payload = Buffer.from(Array.from({ length: 1 + (i % 200) }, (_, j) => (i * 31 + j * 7) % 256));
    await sendRaw(sock, payload);
  }
  await sendRaw(sock, Buffer.from('terminate\n'));
  const { status } = await app.exited;
  t.equal(status, 5, 'terminate after the garbage ran the callback');
  const ignored = app.logs.filter((r) => typeof r.msg === 'string' && r.msg.startsWith('ignored a datagram'));
  const summaries = app.logs.filter((r) => r.event === 'ignored-datagram' && typeof r.suppressed === 'number');
  t.equal(ignored.length, 5, 'the first 5 datagrams were logged as warnings (test/faults/ipc-flood.test.ts floods)');
  t.equal(ignored[0]?.level, 'warn');
  t.equal(summaries.reduce((n, r) => n + (r.suppressed as number), 0), 995, 'the rest were counted in a summary');
  t.equal(summaries[0]?.level, 'warn');
});

t.test('the callback runs once however many terminates arrive', async (t) => {
  const dir = useIpcDir(t);
  const app = spawnFixture(t, 'terminator-app.js', { DEPUTY_IPC_DIR: dir, EXIT_CODE: '0', HOLD_CALLBACK: '1' });
  await app.waitForLog('registered');
  for (let i = 0; i < 5; i++) await gracefulTerminate(app.pid, { wait: false });
  await app.waitForLog((r) => app.logs.filter((x) => x.msg === 'terminate requested again; shutdown is already running').length === 4);
  app.process.kill('SIGTERM'); // a signal on top of it changes nothing either
  await app.waitForLog((r) => r.via === 'SIGTERM');
  app.send('exit');
  t.equal((await app.exited).status, 0);
  t.equal(app.logs.filter((r) => r.msg === 'callback ran').length, 1, 'callback ran exactly once');
});

t.test('SIGTERM without a supervisor runs the callback (node as PID 1 under docker run)', async (t) => {
  const dir = useIpcDir(t);
  const app = spawnFixture(t, 'terminator-app.js', { DEPUTY_IPC_DIR: dir, EXIT_CODE: '3' });
  await app.waitForLog('registered');
  app.process.kill('SIGTERM');
  t.equal((await app.exited).status, 3);
  t.equal(app.logs.find((r) => r.msg?.startsWith('terminate requested'))?.via, 'SIGTERM');
});

t.test('SIGINT twice exits at once with 130', async (t) => {
  const dir = useIpcDir(t);
  const app = spawnFixture(t, 'terminator-app.js', { DEPUTY_IPC_DIR: dir, EXIT_CODE: '0', HOLD_CALLBACK: '1' });
  await app.waitForLog('registered');
  app.process.kill('SIGINT');
  await app.waitForLog('callback ran');
  app.process.kill('SIGINT');
  t.equal((await app.exited).status, 130);
});

t.test('signals: [] leaves signals alone', async (t) => {
  const dir = useIpcDir(t);
  const app = spawnFixture(t, 'terminator-app.js', { DEPUTY_IPC_DIR: dir, EXIT_CODE: '0', SIGNALS: '' });
  await app.waitForLog('registered');
  app.process.kill('SIGTERM');
  const { signal } = await app.exited;
  t.equal(signal, 'SIGTERM', 'default disposition: killed by the signal');
  t.equal(logIndex(app.logs, 'callback ran'), -1);
});

t.test('a throwing or rejecting callback is logged and does not crash the process', async (t) => {
  for (const mode of ['sync', 'async']) {
    const dir = useIpcDir(t);
    const app = spawnFixture(t, 'terminator-app.js', { DEPUTY_IPC_DIR: dir, THROW: mode, KEEP_ALIVE: '1' });
    await app.waitForLog('registered');
    await gracefulTerminate(app.pid, { wait: false });
    const failure = await app.waitForLog('graceful terminator callback failed');
    t.equal(failure.level, 'error', `${mode}: logged as an error`);
    t.match((failure.err as { message: string }).message, /callback (exploded|rejected)/, `${mode}: with the error`);
    t.equal(app.process.exitCode, null, `${mode}: still running`);
    // the socket is released once the callback settled, so it cannot keep a finished process alive
    await app.waitForLog('terminator socket released');
    await t.rejects(gracefulTerminate(app.pid, { wait: false }), NoSocketError, `${mode}: a later terminate finds no socket`);
    app.process.kill('SIGKILL');
    await app.exited;
  }
});

t.test('gracefulTerminate: typed errors and timeout', async (t) => {
  const dir = useIpcDir(t);
  await t.rejects(gracefulTerminate(999_999), NoSocketError);
  await t.rejects(gracefulTerminate(999_999), { message: /not running/ });
  await t.rejects(gracefulTerminate(process.pid), { message: /called gracefulTerminator\(\)/ }, 'running process without a socket');

  plantStaleSocket(socketPath(999_998, dir));
  await t.rejects(gracefulTerminate(999_998), StaleSocketError);

  writeFileSync(entrypointPidPath(dir), 'twelve\n');
  await t.rejects(gracefulTerminate(), MalformedPidFileError);
  await t.rejects(gracefulTerminate(), { message: /deputy-entrypoint\.pid is malformed/ });

  const app = spawnFixture(t, 'terminator-app.js', { DEPUTY_IPC_DIR: dir, KEEP_ALIVE: '1' });
  await app.waitForLog('registered');
  await t.rejects(gracefulTerminate(undefined, { timeoutMs: 300 }), TerminateTimeoutError, 'an app that ignores terminate times out');
  t.equal(app.process.exitCode, null);
});

t.test('in-process registration: second call, IPC dir and path errors', async (t) => {
  const dir = useIpcDir(t);
  const handle = gracefulTerminator(() => {}, { signals: [] });
  t.throws(() => gracefulTerminator(() => {}), AlreadyRegisteredError);
  t.throws(() => gracefulTerminator(() => {}), { message: /already called in this process/ });
  handle.close();
  t.notOk(existsSync(handle.socketPath), 'close() removes the socket');
  t.notOk(existsSync(entrypointPidPath(dir)), 'close() removes our pid file');

  setEnv('DEPUTY_IPC_DIR', join(dir, 'missing'));
  t.throws(() => gracefulTerminator(() => {}), IpcDirError);
  t.throws(() => gracefulTerminator(() => {}), { message: /does not exist: mount an emptyDir at \/run or set DEPUTY_IPC_DIR/ });

  const file = join(dir, 'plain-file');
  writeFileSync(file, '');
  setEnv('DEPUTY_IPC_DIR', file);
  t.throws(() => gracefulTerminator(() => {}), { message: /is not a directory: mount an emptyDir/ });

  const deep = join(dir, 'x'.repeat(100));
  mkdirSync(deep);
  setEnv('DEPUTY_IPC_DIR', deep);
  t.throws(() => gracefulTerminator(() => {}), SocketPathTooLongError);
  t.throws(() => gracefulTerminator(() => {}), { message: /over the kernel's 107-byte limit/ });
  await t.rejects(gracefulTerminate(123), SocketPathTooLongError, 'the sender checks the limit too');

  setEnv('DEPUTY_IPC_DIR', dir);
  const target = join(dir, 'precious');
  writeFileSync(target, 'keep me');
  symlinkSync(target, socketPath(process.pid, dir));
  t.throws(() => gracefulTerminator(() => {}), SocketPathOccupiedError);
  t.throws(() => gracefulTerminator(() => {}), { message: /is a symbolic link, not a socket: refusing to follow or delete it/ });
  t.equal(readFileSync(target, 'utf8'), 'keep me', 'symlink target untouched');
  t.ok(lstatSync(socketPath(process.pid, dir)).isSymbolicLink(), 'symlink untouched');
});

t.test('a regular file at the socket path is never deleted', async (t) => {
  const dir = useIpcDir(t);
  writeFileSync(socketPath(process.pid, dir), 'data');
  t.throws(() => gracefulTerminator(() => {}), { message: /is a regular file, not a socket/ });
  t.equal(readFileSync(socketPath(process.pid, dir), 'utf8'), 'data');
});

t.test('a read-only IPC dir gives the emptyDir hint', async (t) => {
  const dir = tempIpcDir(t);
  if (process.getuid?.() === 0) {
    // Root writes through permission bits, so make it read-only the way a container does:
    // a read-only mount, in a private mount namespace that ends with the child.
    const app = spawnChild(t, 'unshare', ['--mount', '--propagation', 'private', 'sh', '-c', `mount -t tmpfs -o ro tmpfs "$0" && exec "$1" "$2"`, dir, process.execPath, join(FIXTURES, 'terminator-app.js')], { DEPUTY_IPC_DIR: dir });
    const failure = await app.waitForLog((r) => r.level === 'error' || r.level === 'raw');
    t.match(failure.msg, /is not writable \(EROFS\): mount an emptyDir at \/run or set DEPUTY_IPC_DIR/);
    t.equal((await app.exited).status, 9);
    return;
  }
  const { chmodSync } = await import('node:fs');
  chmodSync(dir, 0o500);
  t.teardown(() => chmodSync(dir, 0o700));
  t.teardown(setEnv('DEPUTY_IPC_DIR', dir));
  t.throws(() => gracefulTerminator(() => {}), { message: /is not writable .*mount an emptyDir at \/run or set DEPUTY_IPC_DIR/ });
});
