/**
 * Both ends of the terminate protocol:
 * - `gracefulTerminator(fn)` — the app registers the function that shuts it down;
 * - `gracefulTerminate(pid)` — the supervisor, the preStop hook or a test asks it to run.
 */
import { accessSync, chmodSync, constants as fsConstants, lstatSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { DatagramSocket, type DatagramError } from './datagram-socket.js';
import {
  AlreadyRegisteredError,
  IpcDirError,
  NoSocketError,
  SocketPathOccupiedError,
  SocketPathTooLongError,
  SocketPermissionError,
  StaleSocketError,
  TerminateTimeoutError,
  DeputyError,
} from '../contract/errors.js';
import { sdkLog, type LineLogger } from '../log/logger.js';
import { LogLimiter, type RepeatedEvent } from '../log/limit.js';
import {
  SOCKET_PATH_MAX_BYTES,
  TERMINATE_MESSAGE,
  entrypointPidPath,
  formatPidFile,
  ipcDir,
  isTerminateMessage,
  readEntrypointPid,
  socketPath,
} from '../contract/protocol.js';
import type { GracefulTerminateOptions, GracefulTerminatorOptions } from './types.js';
import { processGone } from '../contract/proc.js';
import { callForTerminateRequest, type TerminateVia } from './terminate-request.js';

/** What `gracefulTerminator()` returns. */
export interface GracefulTerminatorHandle {
  /** The bound socket's path. */
  readonly socketPath: string;
  /** The pid file written, or undefined when `setEntrypoint` was false. */
  readonly pidFile: string | undefined;
  /** Unbinds the socket, removes the files and signal listeners; a new registration is then allowed. */
  close(): void;
}

let registration: GracefulTerminatorHandle | undefined;

/** How many preview bytes of an unexpected datagram reach the log. */
const PREVIEW_BYTES = 64;

// Anyone who can write to the IPC directory can send these as fast as they like: rate-limited.
const IGNORED_DATAGRAM: RepeatedEvent = { event: 'ignored-datagram', level: 'warn', what: 'ignored datagrams' };
const TERMINATE_REPEATED: RepeatedEvent = { event: 'terminate-repeated', level: 'info', what: 'repeated terminate requests' };
const SOCKET_ERROR: RepeatedEvent = { event: 'terminator-socket-error', level: 'warn', what: 'terminator socket errors' };
const RECEIVE_FAILED: RepeatedEvent = { event: 'terminator-receive-failed', level: 'warn', what: 'failed receives on the terminator socket' };

function errnoName(code: number | string | undefined): string | undefined {
  if (typeof code === 'string') return code;
  if (typeof code !== 'number') return undefined;
  const errno = -code;
  return Object.entries(osConstants.errno).find(([, value]) => value === errno)?.[0];
}

function checkSocketPath(path: string): void {
  const bytes = Buffer.byteLength(path);
  if (bytes > SOCKET_PATH_MAX_BYTES) throw new SocketPathTooLongError(path, bytes, SOCKET_PATH_MAX_BYTES);
}

function checkIpcDir(dir: string): void {
  try {
    if (!statSync(dir).isDirectory()) throw new IpcDirError(dir, 'is not a directory');
    accessSync(dir, fsConstants.W_OK | fsConstants.X_OK);
  } catch (error) {
    if (error instanceof DeputyError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new IpcDirError(dir, 'does not exist', { cause: error });
    if (code === 'ENOTDIR') throw new IpcDirError(dir, 'is not a directory', { cause: error });
    throw new IpcDirError(dir, `is not writable (${code ?? String(error)})`, { cause: error });
  }
}

/** Removes a stale socket left by an earlier process; anything else at the path is an error. */
function clearStaleSocket(path: string, log: LineLogger): void {
  let stats;
  try {
    stats = lstatSync(path); // lstat: never follow a symlink
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if (stats.isSocket()) {
    unlinkSync(path);
    log.info({ path }, 'removed stale socket left by an earlier process');
    return;
  }
  const what = stats.isSymbolicLink() ? 'a symbolic link' : stats.isDirectory() ? 'a directory' : stats.isFile() ? 'a regular file' : 'a special file';
  throw new SocketPathOccupiedError(path, what);
}

function removeIfSocket(path: string): void {
  try {
    if (lstatSync(path).isSocket()) unlinkSync(path);
  } catch {
    // already gone
  }
}

function removePidFileIfOurs(path: string, pid: number): void {
  try {
    if (readFileSync(path, 'utf8') === formatPidFile(pid)) unlinkSync(path);
  } catch {
    // already gone or replaced by another process's pid file: leave it
  }
}

/**
 * Registers `fn` to run when a `terminate` datagram arrives on this process's socket, or when one
 * of `signals` arrives. `fn` runs once, however many requests come. Throws (with the fix in the
 * message) when the IPC directory is unusable or the socket path is occupied or too long.
 */
export function gracefulTerminator(fn: () => unknown, options: GracefulTerminatorOptions = {}): GracefulTerminatorHandle {
  return listenForTerminate(fn, options, sdkLog());
}

/** {@link gracefulTerminator} writing its records with `log`. Internal: the supervisor binds its own socket with it. */
export function listenForTerminate(fn: () => unknown, options: GracefulTerminatorOptions, log: LineLogger): GracefulTerminatorHandle {
  const { setEntrypoint = true, signals = ['SIGTERM', 'SIGINT'] } = options;
  const pid = process.pid;
  if (registration) throw new AlreadyRegisteredError(pid);

  const dir = ipcDir();
  const path = socketPath(pid, dir);
  checkSocketPath(path);
  checkIpcDir(dir);
  clearStaleSocket(path, log);

  const limited = new LogLimiter(log);
  let running: Promise<void> | undefined;

  const run = (via: TerminateVia): Promise<void> => {
    if (running) {
      limited.log(TERMINATE_REPEATED, { via }, 'terminate requested again; shutdown is already running');
      return running;
    }
    log.info({ via }, 'terminate requested; running the graceful terminator');
    running = (async () => {
      try {
        await callForTerminateRequest(via, fn);
      } catch (error) {
        log.error({ err: error }, 'graceful terminator callback failed');
      }
      // The listener holds the event loop open like a server; once fn is done it must not keep
      // an otherwise finished process alive.
      releaseSocket();
      log.debug({ path }, 'terminator socket released');
    })();
    return running;
  };

  const socket = new DatagramSocket();
  let socketOpen = true;
  const releaseSocket = (): void => {
    if (!socketOpen) return;
    socketOpen = false;
    socket.close();
    removeIfSocket(path);
    limited.flush(); // what the socket received and did not log one by one is counted now
  };
  let bindError: DatagramError | undefined;
  socket.on('error', (error) => {
    bindError = error;
  });
  socket.bind(path); // synchronous: emits 'error' or 'listening' before returning
  if (bindError) {
    socketOpen = false;
    socket.close();
    const code = errnoName(bindError.code);
    if (code === 'EACCES' || code === 'EROFS' || code === 'EPERM') throw new IpcDirError(dir, `is not writable (${code})`);
    throw new DeputyError('EDEPUTY_BIND', `cannot bind ${path}: ${code ?? bindError.message}`);
  }
  socket.removeAllListeners('error');
  socket.on('error', (error) => limited.log(SOCKET_ERROR, { err: error, code: errnoName(error.code) }, 'terminator socket error'));
  socket.on('receiveError', (error, occurrences) => {
    limited.log(RECEIVE_FAILED, { code: errnoName(error.code), occurrences }, 'terminator socket: a receive failed; still listening');
  });
  chmodSync(path, 0o600);
  socket.on('message', (payload) => {
    if (isTerminateMessage(payload)) {
      void run('socket');
      return;
    }
    limited.log(
      IGNORED_DATAGRAM,
      { bytes: payload.length, preview: payload.subarray(0, PREVIEW_BYTES).toString('latin1') },
      `ignored a datagram that is not "${TERMINATE_MESSAGE}"`,
    );
  });

  let pidFile: string | undefined;
  if (setEntrypoint) {
    pidFile = entrypointPidPath(dir);
    // Write then rename, so a reader never sees a half-written pid.
    const temporary = `${pidFile}.${pid}.tmp`;
    try {
      writeFileSync(temporary, formatPidFile(pid), { mode: 0o644 });
      renameSync(temporary, pidFile);
    } catch (error) {
      releaseSocket(); // leave nothing half-registered behind
      throw new DeputyError('EDEPUTY_PID_FILE_WRITE', `cannot write the pid file ${pidFile}: ${(error as Error).message}`, { cause: error });
    }
  }

  const onSignal = (signal: NodeJS.Signals): void => {
    if (running && signal === 'SIGINT') {
      // Ctrl-C twice: the person at the terminal wants out now.
      log.warn({ signal }, 'second SIGINT during shutdown; exiting now');
      process.exit(130);
    }
    void run(signal);
  };
  for (const signal of signals) process.on(signal, onSignal);

  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    for (const signal of signals) process.off(signal, onSignal);
    process.off('exit', close);
    releaseSocket();
    if (pidFile) removePidFileIfOurs(pidFile, pid);
    if (registration === handle) registration = undefined;
  };
  process.on('exit', close);

  const handle: GracefulTerminatorHandle = { socketPath: path, pidFile, close };
  registration = handle;
  log.debug({ path, pidFile }, 'graceful terminator listening');
  return handle;
}


function sendDatagram(path: string, payload: Buffer): Promise<string | undefined> {
  return new Promise((resolve) => {
    const client = new DatagramSocket();
    client.on('error', (error) => resolve(errnoName(error.code) ?? error.message));
    client.send(payload, 0, payload.length, path, (error) => {
      try {
        client.close();
      } catch {
        // nothing to release
      }
      if (!error) return resolve(undefined);
      // unix-dgram reports a full receive queue as the internal code 1, "congestion".
      resolve(error.code === 1 ? 'EAGAIN' : (errnoName(error.code) ?? error.message));
    });
  });
}

const POLL_MS = 50;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Sends `terminate` to `pid` (default: the entrypoint pid file's pid, else 1). With `wait`
 * (the default) resolves once the process no longer exists, polling every 50 ms; rejects with
 * {@link TerminateTimeoutError} after `timeoutMs`. Rejects with {@link NoSocketError},
 * {@link StaleSocketError}, {@link MalformedPidFileError} or {@link SocketPermissionError}.
 */
export function gracefulTerminate(pid?: number, options: GracefulTerminateOptions = {}): Promise<void> {
  return terminateAndWait(pid, options, () => false);
}

/**
 * {@link gracefulTerminate}, whose wait also ends when `stopWaiting()` turns true (the preStop hook
 * stops once the supervisor, being its target, releases it). Internal: the CLI's entry point.
 */
export async function terminateAndWait(pid: number | undefined, options: GracefulTerminateOptions, stopWaiting: () => boolean): Promise<void> {
  const { wait = true, timeoutMs } = options;
  const dir = ipcDir();
  const target = pid ?? readEntrypointPid(dir) ?? 1;
  const path = socketPath(target, dir);
  checkSocketPath(path);
  const started = Date.now();
  const payload = Buffer.from(TERMINATE_MESSAGE);

  for (;;) {
    const failure = await sendDatagram(path, payload);
    if (failure === undefined) break;
    if (failure === 'ENOENT') throw new NoSocketError(target, path, !processGone(target));
    if (failure === 'ECONNREFUSED') throw new StaleSocketError(target, path, !processGone(target));
    if (failure === 'EACCES' || failure === 'EPERM') throw new SocketPermissionError(path);
    if (failure === 'EAGAIN' && (timeoutMs === undefined || Date.now() - started < timeoutMs)) {
      await sleep(POLL_MS); // the receiver's queue is full: it will drain
      continue;
    }
    if (failure === 'EAGAIN') throw new TerminateTimeoutError(target, timeoutMs ?? 0);
    throw new DeputyError('EDEPUTY_SEND', `cannot send terminate to ${path}: ${failure}`);
  }

  if (!wait) return;
  while (!processGone(target) && !stopWaiting()) {
    if (timeoutMs !== undefined && Date.now() - started >= timeoutMs) throw new TerminateTimeoutError(target, timeoutMs);
    await sleep(POLL_MS);
  }
}
