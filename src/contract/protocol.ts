/**
 * The IPC contract between the supervisor, the shim, the CLI and the app.
 * Every path, message and environment variable that crosses a process boundary is defined here;
 * everything else imports it (shim/supervise.sh mirrors it in bash).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MalformedPidFileError } from './errors.js';
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
export const SOCKET_PATH_MAX_BYTES = 107;
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

/** The entrypoint pid, or undefined when there is no pid file. Throws on a malformed file. */
export function readEntrypointPid(dir: string = ipcDir()): number | undefined {
  const path = entrypointPidPath(dir);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  return parsePidFile(text, path);
}

/**
 * File name prefix of a preStop marker, `deputy-prestop.<pid>`: `deputy terminate` holds one while
 * it waits for its target, `<pid>` being its own pid and the content the target's pid and a
 * newline. The supervisor does not exit while a marker's process lives (see src/prestop.ts).
 */
export const PRESTOP_MARKER_PREFIX = 'deputy-prestop.';

/** `${dir}/deputy-prestop.<pid>` — the marker of the `deputy terminate` process `pid`. */
export function preStopMarkerPath(pid: number, dir: string = ipcDir()): string {
  return join(dir, `${PRESTOP_MARKER_PREFIX}${pid}`);
}

