/**
 * The IPC contract between the supervisor, the shim, the CLI and the app.
 * Every path, message and environment variable that crosses a process boundary is defined here;
 * everything else imports it (shim/supervise.sh mirrors it in bash).
 */
import { closeSync, constants as fsConstants, fstatSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { MalformedPidFileError, SocketPathTooLongError } from './errors.js';
import { SETTINGS, settingText } from './settings.js';

/** Environment variable naming the directory that holds the sockets and the pid file. */
export const IPC_DIR_ENV = SETTINGS.ipcDir.env;
/** Default IPC directory: `/run` (mount an emptyDir there on a read-only root filesystem). */
export const DEFAULT_IPC_DIR = SETTINGS.ipcDir.defaultValue;
/** The one message the protocol knows. A single trailing newline is tolerated. */
export const TERMINATE_MESSAGE = 'terminate';
/** File name of the entrypoint pid file inside the IPC directory. */
export const ENTRYPOINT_PID_FILE = 'deputy-entrypoint.pid';
/** `sun_path` is 108 bytes including the terminating NUL. */
const SOCKET_PATH_MAX_BYTES = 107;
/** Highest pid Linux can hand out (`pid_max` ceiling, 2^22). */
const PID_MAX = 4_194_304;

/** The IPC directory: `$DEPUTY_IPC_DIR`, else `/run`. */
export function ipcDir(env: NodeJS.ProcessEnv = process.env): string {
  return settingText(SETTINGS.ipcDir, env) ?? SETTINGS.ipcDir.defaultValue;
}

/** `${dir}/graceful-terminator.<pid>.socket` — one unix datagram socket per registered process. */
export function socketPath(pid: number, dir: string = ipcDir()): string {
  return join(dir, `graceful-terminator.${pid}.socket`);
}

/** Throws {@link SocketPathTooLongError} when `path` does not fit in a sockaddr_un. */
export function checkSocketPath(path: string): void {
  const bytes = Buffer.byteLength(path);
  if (bytes > SOCKET_PATH_MAX_BYTES) throw new SocketPathTooLongError(path, bytes, SOCKET_PATH_MAX_BYTES);
}

/** `${dir}/deputy-entrypoint.pid` — the pid of the process `terminate` is aimed at by default. */
export function entrypointPidPath(dir: string = ipcDir()): string {
  return join(dir, ENTRYPOINT_PID_FILE);
}

/** True when the datagram is `terminate`, optionally followed by one newline. */
export function isTerminateMessage(payload: Buffer): boolean {
  const text = payload.toString('latin1');
  return text === TERMINATE_MESSAGE || text === `${TERMINATE_MESSAGE}\n`;
}

/** Pid file content: the decimal pid and a newline. */
export function formatPidFile(pid: number): string {
  return `${pid}\n`;
}

/** Parses pid file content; throws {@link MalformedPidFileError} naming the file. */
export function parsePidFile(text: string, path: string): number {
  const match = /^([0-9]{1,7})\n?$/.exec(text);
  const pid = match ? Number(match[1]) : NaN;
  if (!Number.isInteger(pid) || pid < 1 || pid > PID_MAX) {
    throw new MalformedPidFileError(path, text);
  }
  return pid;
}

/** A pid file holds at most 7 digits and a newline: reading more than this shows it is not one. */
const PID_FILE_READ_BYTES = 64;

/**
 * The entrypoint pid, or undefined when there is no pid file. Throws {@link MalformedPidFileError}
 * on anything else that is not a pid file. The file is opened without blocking and must be a
 * regular file, and only its first bytes are read: the supervisor reads it synchronously as PID 1,
 * where a FIFO (open blocks), /dev/zero (never ends) or a huge file would hang or exhaust it.
 */
export function readEntrypointPid(dir: string = ipcDir()): number | undefined {
  const path = entrypointPidPath(dir);
  let fd: number;
  try {
    fd = openSync(path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK | fsConstants.O_NOCTTY);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) {
      const what = stats.isDirectory() ? 'a directory' : stats.isFIFO() ? 'a FIFO' : stats.isCharacterDevice() ? 'a character device' : 'not a regular file';
      throw new MalformedPidFileError(path, undefined, `is ${what}`);
    }
    const buffer = Buffer.alloc(PID_FILE_READ_BYTES);
    const length = readSync(fd, buffer, 0, PID_FILE_READ_BYTES, 0);
    return parsePidFile(buffer.toString('utf8', 0, length), path);
  } finally {
    closeSync(fd);
  }
}

/**
 * File name prefix of a preStop marker, `deputy-prestop.<pid>`: `deputy terminate` holds one while
 * it waits for its target, `<pid>` being its own pid and the content the target's pid and a
 * newline. The supervisor does not exit while a marker's process lives (see src/ipc/prestop.ts).
 */
export const PRESTOP_MARKER_PREFIX = 'deputy-prestop.';

/** `${dir}/deputy-prestop.<pid>` — the marker of the `deputy terminate` process `pid`. */
export function preStopMarkerPath(pid: number, dir: string = ipcDir()): string {
  return join(dir, `${PRESTOP_MARKER_PREFIX}${pid}`);
}

