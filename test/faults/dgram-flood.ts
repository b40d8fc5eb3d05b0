/**
 * Floods a unix datagram socket from this process, asynchronously: a few connected client
 * sockets each send their share, and when the receiver's queue is full (unix-dgram's
 * "congestion", EAGAIN) wait for 'writable' and send the same datagram again. Bounded by a
 * deadline, so a receiver that stops reading fails the test instead of hanging it.
 */
import unix, { type UnixDgramError, type UnixDgramSocket } from 'unix-dgram';

/** unix-dgram's code for a full receive queue (EAGAIN, ENOBUFS). */
const CONGESTION = 1;

export interface FloodOptions {
  /** Connected client sockets sending side by side. */
  readonly sockets?: number;
  /** The whole flood must be sent by then. */
  readonly deadlineMs?: number;
}

/** Sends `count` datagrams `payload(i)` to `path`; resolves with how many times a sender waited for 'writable'. */
export async function flood(path: string, count: number, payload: (index: number) => Buffer, options: FloodOptions = {}): Promise<{ congestions: number }> {
  const { sockets = 4, deadlineMs = 120_000 } = options;
  const deadlineAt = Date.now() + deadlineMs;
  let next = 0;
  let congestions = 0;

  const sender = async (): Promise<void> => {
    const socket: UnixDgramSocket = unix.createSocket('unix_dgram');
    let failure: UnixDgramError | undefined;
    socket.on('error', (error) => (failure = error));
    socket.connect(path);
    try {
      if (failure) throw new Error(`connect ${path}: ${failure.message}`);
      while (next < count) {
        const buf = payload(next++);
        for (;;) {
          const error = await new Promise<UnixDgramError | undefined>((resolve) => socket.send(buf, resolve));
          if (!error) break;
          if (error.code !== CONGESTION) throw new Error(`send to ${path} failed: ${error.message}`);
          congestions += 1;
          await writable(socket, deadlineAt);
        }
      }
    } finally {
      socket.close();
    }
  };

  await Promise.all(Array.from({ length: sockets }, sender));
  return { congestions };
}

function writable(socket: UnixDgramSocket, deadlineAt: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off('writable', onWritable);
      reject(new Error('the receiver stopped reading: its queue stayed full until the deadline'));
    }, Math.max(0, deadlineAt - Date.now()));
    const onWritable = (): void => {
      clearTimeout(timer);
      resolve();
    };
    socket.once('writable', onWritable);
  });
}
