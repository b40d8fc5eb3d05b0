/**
 * The sending end of the terminate protocol: `gracefulTerminate(pid)`, with which the supervisor,
 * the preStop hook (`deputy terminate`) or a test asks a process to run its graceful terminator
 * (terminator.ts, the listening end), and waits for it to exit.
 */
import { DatagramSocket, errnoName } from './datagram-socket.js';
import { DeputyError, NoSocketError, SocketPermissionError, StaleSocketError, TerminateTimeoutError } from '../contract/errors.js';
import { TERMINATE_MESSAGE, checkSocketPath, ipcDir, readEntrypointPid, socketPath } from '../contract/protocol.js';
import { processGone } from '../contract/proc.js';
import type { GracefulTerminateOptions } from './types.js';

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
