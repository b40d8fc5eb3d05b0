/**
 * The Keep-Alive hint that attached HTTP/1 servers advertise, and the drain's idle-close policy
 * that relies on it. Kept apart from drain.ts: the hint is set on every response, draining or
 * not, and the policy is the one rule deciding when an idle socket may be closed.
 *
 * Why idle sockets are not closed at once: a keep-alive client may be writing a request on an
 * idle socket at the very moment the server closes it, and that request fails (reset / socket
 * hang up). Clients that honour the server's `Keep-Alive: timeout=N` hint (undici: N − 2 s;
 * node:http Agent since Node 20: N − 1 s) stop reusing a socket before it has been idle N s.
 * So an idle socket is closed only once it has been idle for the N its last response
 * advertised. To keep that wait short, attached HTTP/1 servers always advertise at most
 * `KEEP_ALIVE_HINT_MAX_MS` (5 s, Node's default) even when their `keepAliveTimeout` is longer
 * (Fastify: 72 s; 65 s behind load balancers): the server's own idle timeout is unchanged, so
 * proxies that ignore the hint are unaffected. The drain delay counts towards the wait: after a
 * delay of 5 s (the default in Kubernetes) every socket that went idle before shutdown is
 * closed at once.
 */
import type { ServerResponse } from 'node:http';
import type { Connection, DrainableServer } from './drain-connections.js';

/** The longest Keep-Alive timeout advertised to clients of an attached HTTP/1 server. */
export const KEEP_ALIVE_HINT_MAX_MS = 5000;

/** What Node keeps on a response: the timeout it will advertise, and the head once written. */
type ResponseInternals = ServerResponse & { _keepAliveTimeout?: unknown; _header?: unknown };

/**
 * What an attached server advertises: its keepAliveTimeout, at most the cap. Also the idle time
 * allowed to a connection that has not sent a request yet (slow or silent clients).
 */
export function hintFor(server: DrainableServer): number {
  const keepAliveMs = (server as DrainableServer & { keepAliveTimeout?: unknown }).keepAliveTimeout;
  return typeof keepAliveMs === 'number' && keepAliveMs > 0 ? Math.min(keepAliveMs, KEEP_ALIVE_HINT_MAX_MS) : KEEP_ALIVE_HINT_MAX_MS;
}

/**
 * Caps the Keep-Alive timeout `res` will advertise. Node writes `Keep-Alive:
 * timeout=floor(_keepAliveTimeout / 1000)`; the server assigned it before emitting 'request'
 * (0 means none: advertise the cap).
 */
export function capKeepAliveHint(res: ServerResponse): void {
  const internal = res as ResponseInternals;
  if (typeof internal._keepAliveTimeout === 'number' && (internal._keepAliveTimeout === 0 || internal._keepAliveTimeout > KEEP_ALIVE_HINT_MAX_MS)) {
    internal._keepAliveTimeout = KEEP_ALIVE_HINT_MAX_MS;
  }
}

/**
 * The Keep-Alive timeout the head of `res` advertised, in ms. A head without one (an app that
 * set its own header without a timeout, or a Node that writes none) counts as the cap.
 */
export function advertisedTimeoutMs(res: ServerResponse): number {
  const head = (res as ResponseInternals)._header;
  const match = typeof head === 'string' ? /\r\nkeep-alive:[^\r]*\btimeout=(\d+)/i.exec(head) : null;
  return match ? Number(match[1]) * 1000 : KEEP_ALIVE_HINT_MAX_MS;
}

/**
 * Closes an HTTP/1 connection with no request in flight once it has been idle for the
 * Keep-Alive timeout it was last told — never earlier, so a client that honours the hint is
 * never cut while sending. HTTP/2 connections end through GOAWAY instead; upgraded ones when
 * the app closes them, else at the deadline.
 */
export function scheduleIdleClose(connection: Connection): void {
  clearTimeout(connection.idleTimer);
  if (connection.active > 0 || connection.session || connection.upgraded || connection.socket.destroyed) return;
  const waitMs = connection.lastActiveAt + connection.advertisedMs - Date.now();
  const close = (): void => {
    if (connection.active === 0) connection.socket.destroy();
  };
  if (waitMs <= 0) close();
  else {
    connection.idleTimer = setTimeout(close, waitMs);
    connection.idleTimer.unref();
  }
}
