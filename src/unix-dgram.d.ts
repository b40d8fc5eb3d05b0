// Minimal typings for the parts of unix-dgram we use (the package ships none).
declare module 'unix-dgram' {
  import type { EventEmitter } from 'node:events';
  /** Errors carry a negative errno in `code` and `errno`. */
  export interface UnixDgramError extends Error {
    code: number;
    errno: number;
    syscall?: string;
  }
  export interface UnixDgramSocket extends EventEmitter {
    bind(path: string): void;
    /** Connects to a bound socket: `send(buf, callback)` then goes there, and 'writable' follows a congestion. */
    connect(path: string): void;
    send(buf: Buffer, offset: number, length: number, path: string, callback?: (err?: UnixDgramError) => void): void;
    /** On a connected socket. A full receive queue calls back with code 1 ("congestion"). */
    send(buf: Buffer, callback: (err?: UnixDgramError) => void): void;
    close(): void;
    on(event: 'message', listener: (msg: Buffer, rinfo: { size: number; path?: string }) => void): this;
    on(event: 'error', listener: (err: UnixDgramError) => void): this;
    on(event: 'listening' | 'writable' | 'connect', listener: () => void): this;
    on(event: 'congestion', listener: (buf: Buffer) => void): this;
  }
  export function createSocket(type: 'unix_dgram', listener?: (msg: Buffer) => void): UnixDgramSocket;
  const unix: { createSocket: typeof createSocket };
  export default unix;
}
