// unix-dgram ships no types. The tests talk to it directly (stale sockets, floods, receive
// errors), so they get this description of its lib/unix_dgram.js; src/ reaches its native addon
// through src/ipc/datagram-socket.ts, which has its own.
declare module 'unix-dgram' {
  import type { EventEmitter } from 'node:events';

  /** An Error whose `code` and `errno` are the negative errno, or 1 for "congestion" (EAGAIN). */
  export interface UnixDgramError extends Error {
    code: number;
    errno?: number;
    syscall?: string;
  }

  export interface UnixDgramSocket extends EventEmitter {
    bind(path: string): void;
    connect(path: string): void;
    /** To the connected peer. */
    send(buf: Buffer, callback?: (error?: UnixDgramError) => void): void;
    send(buf: Buffer, offset: number, length: number, path: string, callback?: (error?: UnixDgramError) => void): void;
    close(): void;
    on(event: 'error', listener: (error: UnixDgramError) => void): this;
    on(event: 'message', listener: (buf: Buffer, rinfo: { size: number; path?: string }) => void): this;
    on(event: 'writable' | 'congestion' | 'connect' | 'listening', listener: () => void): this;
  }

  const unix: { createSocket(type: 'unix_dgram', listener?: (buf: Buffer, rinfo: { size: number; path?: string }) => void): UnixDgramSocket };
  export default unix;
}
