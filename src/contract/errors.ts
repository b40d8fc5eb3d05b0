/**
 * Typed errors. Each message says what went wrong and what to check, so a one-line print of
 * `error.message` (as the CLI does) is enough for the person reading a preStop hook failure.
 */
import { SETTINGS } from './settings.js';

const IPC_DIR = SETTINGS.ipcDir.env;

/** Base class: `code` is a stable machine-readable identifier. */
export class DeputyError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The IPC directory is missing, not a directory, or not writable. */
export class IpcDirError extends DeputyError {
  readonly dir: string;
  constructor(dir: string, problem: string, options?: { cause?: unknown }) {
    super(
      'EDEPUTY_IPC_DIR',
      `IPC directory ${dir} ${problem}: mount an emptyDir at ${SETTINGS.ipcDir.defaultValue} or set ${IPC_DIR} to a writable directory`,
      options,
    );
    this.dir = dir;
  }
}

/** The socket path does not fit in `sun_path`. */
export class SocketPathTooLongError extends DeputyError {
  readonly path: string;
  constructor(path: string, bytes: number, maxBytes: number) {
    super(
      'EDEPUTY_PATH_TOO_LONG',
      `socket path ${path} is ${bytes} bytes, over the kernel's ${maxBytes}-byte limit for unix sockets: set ${IPC_DIR} to a shorter directory`,
    );
    this.path = path;
  }
}

/** Something other than a stale socket sits at our socket path; we never delete it. */
export class SocketPathOccupiedError extends DeputyError {
  readonly path: string;
  constructor(path: string, what: string) {
    super(
      'EDEPUTY_PATH_OCCUPIED',
      `${path} exists and is ${what}, not a socket: refusing to follow or delete it; remove it or set ${IPC_DIR} to another directory`,
    );
    this.path = path;
  }
}

/** `gracefulTerminator()` was called twice in one process. */
export class AlreadyRegisteredError extends DeputyError {
  constructor(pid: number) {
    super(
      'EDEPUTY_ALREADY_REGISTERED',
      `gracefulTerminator() was already called in this process (pid ${pid}): register one function that shuts everything down, or close() the first registration before registering again`,
    );
  }
}

/** The entrypoint pid file does not hold a decimal pid and a newline, or is not a file at all. */
export class MalformedPidFileError extends DeputyError {
  readonly path: string;
  /** `content` is what it holds; or, for something that cannot be read as a file, `problem` says why. */
  constructor(path: string, content: string | undefined, problem?: string) {
    const shown = content === undefined ? '' : JSON.stringify(content.length > 40 ? `${content.slice(0, 40)}…` : content);
    super(
      'EDEPUTY_PID_FILE',
      `pid file ${path} ${problem ?? `is malformed (${shown})`}; it must be a file holding a decimal pid and a newline: check what else writes it, or pass the pid explicitly`,
    );
    this.path = path;
  }
}

/** No socket exists for the target pid. */
export class NoSocketError extends DeputyError {
  readonly pid: number;
  readonly path: string;
  constructor(pid: number, path: string, running: boolean) {
    super(
      'EDEPUTY_NO_SOCKET',
      `no graceful-terminator socket for pid ${pid} at ${path}` +
        (running
          ? `: check that the process called gracefulTerminator() and that both sides use the same ${IPC_DIR}`
          : `: process ${pid} is not running; check the pid or the entrypoint pid file`),
    );
    this.pid = pid;
    this.path = path;
  }
}

/** A socket file exists but nobody is bound to it. */
export class StaleSocketError extends DeputyError {
  readonly pid: number;
  readonly path: string;
  constructor(pid: number, path: string, running: boolean) {
    super(
      'EDEPUTY_STALE_SOCKET',
      `socket ${path} exists but nobody is listening on it (a stale file from an earlier process)` +
        (running
          ? `: process ${pid} is running but is not the one that bound it; check the pid and the pid file`
          : `: process ${pid} is not running; check the pid or the entrypoint pid file`),
    );
    this.pid = pid;
    this.path = path;
  }
}

/** Sending was refused for lack of permission. */
export class SocketPermissionError extends DeputyError {
  readonly path: string;
  constructor(path: string) {
    super(
      'EDEPUTY_SOCKET_PERMISSION',
      `permission denied sending to ${path} (mode 0600): run deputy terminate as the same user as the app`,
    );
    this.path = path;
  }
}

/** The target still exists when the wait ran out. */
export class TerminateTimeoutError extends DeputyError {
  readonly pid: number;
  readonly timeoutMs: number;
  constructor(pid: number, timeoutMs: number) {
    super(
      'EDEPUTY_TIMEOUT',
      `process ${pid} is still running ${timeoutMs} ms after terminate was sent: check its logs — its callback may be stuck, or it does not exit when shutdown ends`,
    );
    this.pid = pid;
    this.timeoutMs = timeoutMs;
  }
}

/** A user-supplied value (flag or environment variable) is invalid. */
export class UsageError extends DeputyError {
  constructor(message: string) {
    super('EDEPUTY_USAGE', message);
  }
}
