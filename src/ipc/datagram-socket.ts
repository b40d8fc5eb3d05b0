/**
 * Unix datagram sockets on unix-dgram's native addon, with a receive path that cannot crash the
 * process.
 *
 * unix-dgram's JS wrapper (lib/unix_dgram.js) gives the addon `recv(status, buf, path)`, which
 * reads `buf.length` at once. When recvmsg() fails — EAGAIN after a spurious wake-up or another
 * reader took the datagram, ENOMEM, … — the addon (src/unix_dgram.cc, OnRecv) calls it with
 * `(-errno, null, null)`: a TypeError thrown inside a native callback, an uncaught exception that
 * ends the app, or PID 1. So this module hands the same addon its own callbacks: a failed receive
 * is emitted as 'receiveError' (with how many there have been) and the socket keeps listening.
 * bind, send and close mirror the wrapper, errors included (negative errno in `code`; a full
 * receiver queue is `code` 1, "congestion").
 *
 * Not covered, in the addon itself: OnEvent asserts that libuv's poll status is 0 and aborts
 * otherwise (libuv reports an error there only for a descriptor closed behind its back).
 */
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { constants as osConstants } from 'node:os';
import { dirname, join } from 'node:path';

/** An error from the addon: a negative errno in `code` and `errno` (1: "congestion"). */
export interface DatagramError extends Error {
  code: number;
  errno: number;
  syscall: string;
}

type OnReceive = (status: number, data: Buffer | null, path: string | null) => void;

/** unix-dgram's addon (unix_dgram.node): each call returns a negative errno on failure. */
interface Addon {
  readonly AF_UNIX: number;
  readonly SOCK_DGRAM: number;
  socket(domain: number, type: number, protocol: number, onReceive: OnReceive, onWritable: () => void): number;
  bind(fd: number, path: string): number;
  sendto(fd: number, buf: Buffer, offset: number, length: number, path: string): number;
  close(fd: number): number;
}

let addon: Addon | undefined;

/** The addon unix-dgram itself loads (the same module instance: `require` caches it by path). */
function loadAddon(): Addon {
  if (addon) return addon;
  const root = dirname(createRequire(import.meta.url).resolve('unix-dgram/package.json'));
  // `bindings` finds the build directory from its caller's path unless told the module root.
  const bindings = createRequire(join(root, 'package.json'))('bindings') as (options: { bindings: string; module_root: string }) => Addon;
  addon = bindings({ bindings: 'unix_dgram.node', module_root: root });
  return addon;
}

/** The name of an addon error's negative errno (ENOENT, …); a string code as it is. */
export function errnoName(code: number | string | undefined): string | undefined {
  if (typeof code === 'string') return code;
  if (typeof code !== 'number') return undefined;
  const errno = -code;
  return Object.entries(osConstants.errno).find(([, value]) => value === errno)?.[0];
}

function addonError(code: number, syscall: string, message = `${syscall} ${code}`): DatagramError {
  return Object.assign(new Error(message), { code, errno: code, syscall });
}

export interface DatagramSocket extends EventEmitter {
  on(event: 'message', listener: (data: Buffer, info: { size: number; path: string | undefined }) => void): this;
  on(event: 'receiveError', listener: (error: DatagramError, occurrences: number) => void): this;
  on(event: 'error', listener: (error: DatagramError) => void): this;
  on(event: 'listening' | 'writable', listener: () => void): this;
}

/** A unix datagram socket (SOCK_NONBLOCK, SOCK_CLOEXEC) polled on the event loop. */
export class DatagramSocket extends EventEmitter {
  readonly #addon = loadAddon();
  #fd: number;
  #receiveErrors = 0;

  constructor() {
    super();
    const fd = this.#addon.socket(this.#addon.AF_UNIX, this.#addon.SOCK_DGRAM, 0, this.#onReceive, () => this.emit('writable'));
    if (fd < 0) throw addonError(fd, 'socket');
    this.#fd = fd;
  }

  readonly #onReceive: OnReceive = (status, data, path) => {
    if (status < 0 || data === null) {
      this.#receiveErrors += 1;
      this.emit('receiveError', addonError(status, 'recvmsg'), this.#receiveErrors);
      return;
    }
    this.emit('message', data, { size: data.length, path: path ?? undefined });
  };

  /** Binds to `path`; emits 'error' or 'listening' before returning. */
  bind(path: string): void {
    const result = this.#addon.bind(this.#fd, path);
    if (result < 0) this.emit('error', addonError(result, 'bind'));
    else this.emit('listening');
  }

  /** Sends `buf[offset, offset + length)` to `path`; `callback` runs before this returns. */
  send(buf: Buffer, offset: number, length: number, path: string, callback: (error?: DatagramError) => void): void {
    const result = this.#addon.sendto(this.#fd, buf, offset, length, path);
    if (result < 0) callback(addonError(result, 'send'));
    else if (result === 1) callback(addonError(1, 'send', 'congestion'));
    else callback();
  }

  /** Closes the descriptor and stops polling it. */
  close(): void {
    if (this.#fd < 0) return; // the addon asserts on a descriptor it no longer polls
    const result = this.#addon.close(this.#fd);
    this.#fd = -1;
    if (result < 0) throw addonError(result, 'close');
  }
}
