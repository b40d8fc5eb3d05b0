/**
 * GOAWAY for the HTTP/2 sessions on attached servers: HTTP/2's counterpart of the
 * `Connection: close` that drain.ts puts on HTTP/1 responses. Kept apart because a session is
 * told to go on its own terms: `session.close()` sends GOAWAY and lets its open streams finish
 * before the session ends, and a session that arrives while draining is first let in.
 */
import type { Http2Session } from 'node:http2';
import type { Connection } from './drain-connections.js';
import { KEEP_ALIVE_HINT_MAX_MS } from './keep-alive.js';

/** Sends GOAWAY to the connection's session, if it has one still open. */
export function sendGoaway(connection: Connection): void {
  const session = connection.session;
  if (session && !session.closed && !session.destroyed) {
    session.close();
    connection.toldToClose = true;
  }
}

/**
 * A session that arrives while draining is allowed its first stream(s) — the client sent them
 * with its preface — and gets GOAWAY right after; one that sends nothing gets it after the
 * keep-alive timeout.
 */
export function goawayWhenUsed(connection: Connection, session: Http2Session): void {
  const close = (): void => {
    clearTimeout(timer);
    if (!session.closed && !session.destroyed) session.close();
    connection.toldToClose = true;
  };
  session.once('stream', () => setImmediate(close));
  const timer = setTimeout(close, KEEP_ALIVE_HINT_MAX_MS);
  timer.unref();
}
