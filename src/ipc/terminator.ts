/**
 * The listening end of the terminate protocol: `gracefulTerminator(fn)`, with which the app (or the
 * supervisor, for its own socket) registers the function that shuts it down. The sending end,
 * `gracefulTerminate(pid)`, is terminate-sender.ts.
 */
import { accessSync, chmodSync, constants as fsConstants, lstatSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { DatagramSocket, errnoName, type DatagramError } from './datagram-socket.js';
import { AlreadyRegisteredError, IpcDirError, SocketPathOccupiedError, DeputyError } from '../contract/errors.js';
import { sdkLog, type LineLogger } from '../log/logger.js';
import { LogLimiter, type RepeatedEvent } from '../log/limit.js';
import { TERMINATE_MESSAGE, checkSocketPath, entrypointPidPath, formatPidFile, ipcDir, isTerminateMessage, socketPath } from '../contract/protocol.js';
import { TERMINATION_SIGNALS } from '../contract/signals.js';
import type { GracefulTerminatorOptions } from './types.js';
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
  const { setEntrypoint = true, signals = TERMINATION_SIGNALS } = options;
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
