/**
 * The drain of the servers attached to a Deputy: the HTTP half of termination.
 *
 * Sequence (driven by `Deputy.shutdown()`):
 * 1. `begin()` — from now on every HTTP/1.x response carries `Connection: close` and every HTTP/2
 *    session gets GOAWAY once its current streams are accounted for; new connections are still
 *    accepted and served (endpoint removal is still propagating);
 * 2. `settle()` waits, using `lastConnectionAt`, until no new connection has brought traffic
 *    (a first request that is not a probe) for a quiet window, within a cap;
 * 3. `finish(deadline)` — stop listening, let in-flight requests complete, close idle keep-alive
 *    sockets only once the client was told they are stale, destroy what is left at the deadline.
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
import { Server as NetServer, type Socket } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2Session, Http2Stream } from 'node:http2';
import { probeKindOf } from './health.js';
import { sdkLog } from '../log/logger.js';

/** The longest Keep-Alive timeout advertised to clients of an attached HTTP/1 server. */
const KEEP_ALIVE_HINT_MAX_MS = 5000;

/** Anything `deputy.attach()` accepts: node:http, node:https and node:http2 (plain or secure) servers. */
export type DrainableServer = NetServer;

/** One accepted TCP connection. */
interface Connection {
  /** The TCP socket; destroying it ends TLS and HTTP/2 on top of it too. */
  readonly socket: Socket;
  readonly server: Attached;
  /** Requests (HTTP/1) or streams (HTTP/2) in flight. */
  active: number;
  /** When the last request finished, or when the socket connected (ms since epoch). */
  lastActiveAt: number;
  /** The Keep-Alive timeout the client was last told (ms): it may reuse the socket until then. */
  advertisedMs: number;
  /** Responses in flight whose headers may still be unsent (HTTP/1). */
  readonly responses: Set<ServerResponse>;
  session: Http2Session | undefined;
  /** A response said `Connection: close`, or the session got GOAWAY: the client was told to go. */
  toldToClose: boolean;
  /** Taken over by an 'upgrade' (WebSocket…) or 'connect' handler: no longer HTTP, never idle. */
  upgraded: boolean;
  /** Its first request (or stream, or upgrade) has been seen. */
  requested: boolean;
  idleTimer: NodeJS.Timeout | undefined;
}

interface Attached {
  readonly server: DrainableServer;
  readonly connections: Map<Socket, Connection>;
  listening: boolean;
}

/** What the drain did, for the logs. */
export interface DrainOutcome {
  readonly outcome: 'drained' | 'deadline';
  readonly durationMs: number;
  /** Requests or streams in flight when listening stopped. */
  readonly inFlight: number;
  /** Connections open when listening stopped. */
  readonly connections: number;
  /** Keep-alive sockets that ended idle, never told to close: after their advertised timeout. */
  readonly closedIdle: number;
  /** Connections that ended after `Connection: close` or GOAWAY. */
  readonly closedGracefully: number;
  /** Connections destroyed at the deadline. */
  readonly destroyed: number;
  /** Requests or streams cut at the deadline. */
  readonly requestsCut: number;
  /** Upgraded connections (WebSocket, CONNECT) open when listening stopped. */
  readonly upgraded: number;
  /** Upgraded connections that ended during the drain (closed by the app or the client). */
  readonly upgradedClosed: number;
  /** Upgraded connections destroyed at the deadline (included in `destroyed`). */
  readonly upgradedCut: number;
}

/** The attached servers' connections right now. */
export interface ConnectionStates {
  /** Requests (HTTP/1) and streams (HTTP/2) in flight. */
  readonly inFlight: number;
  /** Connections with a request or stream in flight (upgraded ones aside). */
  readonly active: number;
  /** Open connections with nothing in flight: keep-alive between requests, or not yet used. */
  readonly idle: number;
  /** Upgraded connections (WebSocket, CONNECT). */
  readonly upgraded: number;
}

/** The TCP socket under a TLS socket (TLSSocket keeps it as `_parent`), or the socket itself. */
function tcpSocketOf(socket: Socket): Socket {
  return ((socket as Socket & { _parent?: Socket | null })._parent ?? socket) as Socket;
}

function isHttp2Request(req: IncomingMessage): boolean {
  return req.httpVersionMajor >= 2;
}

export class Drain {
  readonly #servers: Attached[] = [];
  #draining = false;
  #finishing = false;
  #lastConnectionAt = 0;
  #closedIdle = 0;
  #closedGracefully = 0;
  #upgradedClosed = 0;
  #requestsCut = 0;
  #destroying = false;
  #changed: (() => void) | undefined;
  /** The connection that the server's own listener is being handed (pairs HTTP/2 sessions). */
  #accepting: Connection | undefined;

  /**
   * When the last new connection carrying traffic arrived on any attached server: counted at its
   * first request unless that is a probe path (ms since epoch; 0 if none). Probes (the kubelet
   * opens a fresh connection for each) and connections that send nothing (TCP health checks)
   * are not traffic to protect, so they do not hold the drain delay open.
   */
  get lastConnectionAt(): number {
    return this.#lastConnectionAt;
  }

  get serverCount(): number {
    return this.#servers.length;
  }

  /** Connections currently open on the attached servers. */
  get connectionCount(): number {
    return this.#servers.reduce((sum, s) => sum + s.connections.size, 0);
  }

  /** Upgraded connections (WebSocket, CONNECT) currently open. */
  get upgradedCount(): number {
    let sum = 0;
    for (const s of this.#servers) for (const c of s.connections.values()) if (c.upgraded) sum += 1;
    return sum;
  }

  /** Requests (HTTP/1) and streams (HTTP/2) currently in flight. */
  get inFlight(): number {
    let sum = 0;
    for (const s of this.#servers) for (const c of s.connections.values()) sum += c.active;
    return sum;
  }

  /** Requests and streams cut at the drain deadline so far (for metrics: known as they are cut). */
  get requestsCut(): number {
    return this.#requestsCut;
  }

  /** Requests in flight and connections by state, counted in one pass (for metrics). */
  connectionStates(): ConnectionStates {
    const states = { inFlight: 0, active: 0, idle: 0, upgraded: 0 };
    for (const s of this.#servers) {
      for (const c of s.connections.values()) {
        states.inFlight += c.active;
        if (c.upgraded) states.upgraded += 1;
        else if (c.active > 0) states.active += 1;
        else states.idle += 1;
      }
    }
    return states;
  }

  attach(server: DrainableServer): void {
    if (!(server instanceof NetServer)) {
      throw new TypeError('deputy.attach(server) takes a node:http, node:https or node:http2 server (for Express or Koa: the value of app.listen())');
    }
    if (this.#servers.some((s) => s.server === server)) return;
    const attached: Attached = { server, connections: new Map(), listening: true };
    this.#servers.push(attached);
    // Prepended so that our listeners run before the server's own: the connection is known
    // before an HTTP/2 session is created on it, and `Connection: close` is decided before the
    // app's handler writes the head.
    server.prependListener('connection', (socket: Socket) => this.#onConnection(attached, socket));
    server.prependListener('secureConnection', (socket: Socket) => {
      this.#accepting = attached.connections.get(tcpSocketOf(socket));
    });
    server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => this.#onRequest(attached, req, res));
    server.on('session', (session: Http2Session) => this.#onSession(session));
    // Upgraded connections never see 'request', so they would look idle. They are marked by
    // wrapping emit, not by listening: a listener of ours would change what Node does when the
    // app has none (it only upgrades when 'upgrade' has listeners, and destroys a CONNECT
    // nobody listens for).
    const emit = server.emit as (this: DrainableServer, event: string | symbol, ...args: unknown[]) => boolean;
    const onUpgrade = (req: IncomingMessage, socket: Socket): void => this.#onUpgrade(attached, req, socket);
    server.emit = function (this: DrainableServer, event: string | symbol, ...args: unknown[]): boolean {
      if ((event === 'upgrade' || event === 'connect') && args[1]) onUpgrade(args[0] as IncomingMessage, args[1] as Socket);
      return emit.call(this, event, ...args);
    } as DrainableServer['emit'];
    if (this.#draining) this.#beginOn(attached);
  }

  #onConnection(attached: Attached, socket: Socket): void {
    const now = Date.now();
    const connection: Connection = {
      socket,
      server: attached,
      active: 0,
      lastActiveAt: now,
      advertisedMs: hintFor(attached.server),
      responses: new Set(),
      session: undefined,
      toldToClose: false,
      upgraded: false,
      requested: false,
      idleTimer: undefined,
    };
    attached.connections.set(socket, connection);
    this.#accepting = connection;
    socket.once('close', () => {
      clearTimeout(connection.idleTimer);
      attached.connections.delete(socket);
      if (this.#finishing && !this.#destroying) {
        if (connection.upgraded) this.#upgradedClosed += 1;
        else if (connection.toldToClose) this.#closedGracefully += 1;
        else this.#closedIdle += 1;
      }
      this.#changed?.();
    });
    if (this.#finishing) this.#scheduleIdleClose(connection);
  }

  #onRequest(attached: Attached, req: IncomingMessage, res: ServerResponse): void {
    if (isHttp2Request(req)) return; // counted per stream in #onSession
    const connection = attached.connections.get(tcpSocketOf(req.socket));
    if (!connection) return;
    this.#noteFirstRequest(connection, req.url);
    connection.active += 1;
    connection.lastActiveAt = Date.now();
    clearTimeout(connection.idleTimer);
    connection.responses.add(res);
    if (this.#draining) {
      res.shouldKeepAlive = false;
      connection.toldToClose = true;
    }
    // Node writes `Keep-Alive: timeout=floor(_keepAliveTimeout / 1000)`; the server assigned it
    // before emitting 'request'. Cap what is advertised (0 means none: advertise the cap).
    const internal = res as ServerResponse & { _keepAliveTimeout?: unknown; _header?: unknown };
    if (typeof internal._keepAliveTimeout === 'number' && (internal._keepAliveTimeout === 0 || internal._keepAliveTimeout > KEEP_ALIVE_HINT_MAX_MS)) {
      internal._keepAliveTimeout = KEEP_ALIVE_HINT_MAX_MS;
    }
    res.once('close', () => {
      connection.advertisedMs = advertisedTimeoutMs(internal._header);
      connection.active -= 1;
      connection.lastActiveAt = Date.now();
      connection.responses.delete(res);
      if (this.#finishing) this.#scheduleIdleClose(connection);
      this.#changed?.();
    });
  }

  #onUpgrade(attached: Attached, req: IncomingMessage, socket: Socket): void {
    const connection = attached.connections.get(tcpSocketOf(socket));
    if (!connection) return;
    this.#noteFirstRequest(connection, req.url);
    connection.upgraded = true;
    clearTimeout(connection.idleTimer);
  }

  #onSession(session: Http2Session): void {
    const connection = this.#accepting;
    if (!connection) return;
    connection.session = session;
    session.on('stream', (stream: Http2Stream, headers: Record<string, unknown>) => {
      this.#noteFirstRequest(connection, typeof headers[':path'] === 'string' ? headers[':path'] : undefined);
      connection.active += 1;
      connection.lastActiveAt = Date.now();
      stream.once('close', () => {
        connection.active -= 1;
        connection.lastActiveAt = Date.now();
        this.#changed?.();
      });
    });
    if (this.#draining) this.#goawayWhenUsed(connection, session);
  }

  /** A connection is new traffic at its first request, unless that request is a probe. */
  #noteFirstRequest(connection: Connection, url: string | undefined): void {
    if (connection.requested) return;
    connection.requested = true;
    if (probeKindOf(url) === undefined) this.#lastConnectionAt = Date.now();
  }

  /**
   * A session that arrives while draining is allowed its first stream(s) — the client sent them
   * with its preface — and gets GOAWAY right after; one that sends nothing gets it after the
   * keep-alive timeout.
   */
  #goawayWhenUsed(connection: Connection, session: Http2Session): void {
    const close = (): void => {
      clearTimeout(timer);
      if (!session.closed && !session.destroyed) session.close();
      connection.toldToClose = true;
    };
    session.once('stream', () => setImmediate(close));
    const timer = setTimeout(close, KEEP_ALIVE_HINT_MAX_MS);
    timer.unref();
  }

  /**
   * The adaptive drain delay: resolves once `minDelayMs` has passed since `startedAt` and no new
   * connection has brought traffic for `quietMs` (see `lastConnectionAt`), or at `capAt` (ms
   * since epoch), whichever is first.
   */
  async settle(startedAt: number, minDelayMs: number, quietMs: number, capAt: number): Promise<'quiet' | 'cap'> {
    for (;;) {
      const now = Date.now();
      const quietAt = this.#servers.length > 0 ? this.#lastConnectionAt + quietMs : 0;
      const readyAt = Math.max(startedAt + minDelayMs, quietAt);
      if (readyAt <= now) return 'quiet';
      if (capAt <= now) return 'cap';
      // Re-checked when the wait ends: a connection that arrived meanwhile moves quietAt on.
      await new Promise((resolve) => setTimeout(resolve, Math.min(readyAt, capAt) - now));
    }
  }

  /** Starts draining: `Connection: close` on every HTTP/1 response, GOAWAY to HTTP/2 sessions. */
  begin(): void {
    if (this.#draining) return;
    this.#draining = true;
    for (const attached of this.#servers) this.#beginOn(attached);
  }

  #beginOn(attached: Attached): void {
    for (const connection of attached.connections.values()) {
      for (const res of connection.responses) {
        if (res.headersSent) continue;
        res.shouldKeepAlive = false;
        connection.toldToClose = true;
      }
      const session = connection.session;
      // close() sends GOAWAY and lets the open streams finish before the session ends.
      if (session && !session.closed && !session.destroyed) {
        session.close();
        connection.toldToClose = true;
      }
    }
  }

  /**
   * Stops listening and resolves once every connection is gone, or at `deadlineAt` (ms since
   * epoch) after destroying what is left.
   */
  async finish(deadlineAt: number): Promise<DrainOutcome> {
    this.begin();
    this.#finishing = true;
    const started = Date.now();
    const inFlight = this.inFlight;
    const connections = this.connectionCount;
    const upgraded = this.upgradedCount;
    for (const attached of this.#servers) {
      if (attached.listening) {
        attached.listening = false;
        // net.Server's close, not http.Server's: since Node 19 the latter also closes idle
        // keep-alive sockets at once, which is exactly the race this drain avoids.
        if (attached.server.listening) NetServer.prototype.close.call(attached.server);
      }
      for (const connection of attached.connections.values()) {
        this.#scheduleIdleClose(connection);
      }
    }
    const closedIdleBefore = this.#closedIdle;
    const closedGracefullyBefore = this.#closedGracefully;
    const upgradedClosedBefore = this.#upgradedClosed;
    const drained = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(this.connectionCount === 0), Math.max(0, deadlineAt - Date.now()));
      const check = (): void => {
        if (this.connectionCount === 0) {
          clearTimeout(timer);
          resolve(true);
        }
      };
      this.#changed = check;
      check();
    });
    this.#changed = undefined;
    let destroyed = 0;
    let requestsCut = 0;
    let upgradedCut = 0;
    if (!drained) {
      this.#destroying = true;
      for (const attached of this.#servers) {
        for (const connection of [...attached.connections.values()]) {
          destroyed += 1;
          requestsCut += connection.active;
          if (connection.upgraded) upgradedCut += 1;
          connection.session?.destroy();
          connection.socket.destroy();
        }
      }
      this.#requestsCut += requestsCut;
    }
    return {
      outcome: drained ? 'drained' : 'deadline',
      durationMs: Date.now() - started,
      inFlight,
      connections,
      closedIdle: this.#closedIdle - closedIdleBefore,
      closedGracefully: this.#closedGracefully - closedGracefullyBefore,
      destroyed,
      requestsCut,
      upgraded,
      upgradedClosed: this.#upgradedClosed - upgradedClosedBefore,
      upgradedCut,
    };
  }

  /**
   * Closes an HTTP/1 connection with no request in flight once it has been idle for the
   * Keep-Alive timeout it was last told — never earlier, so a client that honours the hint is
   * never cut while sending. HTTP/2 connections end through GOAWAY instead; upgraded ones when
   * the app closes them, else at the deadline.
   */
  #scheduleIdleClose(connection: Connection): void {
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
}

/**
 * What an attached server advertises: its keepAliveTimeout, at most the cap. Also the idle time
 * allowed to a connection that has not sent a request yet (slow or silent clients).
 */
function hintFor(server: DrainableServer): number {
  const keepAliveMs = (server as DrainableServer & { keepAliveTimeout?: unknown }).keepAliveTimeout;
  return typeof keepAliveMs === 'number' && keepAliveMs > 0 ? Math.min(keepAliveMs, KEEP_ALIVE_HINT_MAX_MS) : KEEP_ALIVE_HINT_MAX_MS;
}

/**
 * The Keep-Alive timeout a response head advertised, in ms. A head without one (an app that set
 * its own header without a timeout, or a Node that writes none) counts as the cap.
 */
function advertisedTimeoutMs(head: unknown): number {
  const match = typeof head === 'string' ? /\r\nkeep-alive:[^\r]*\btimeout=(\d+)/i.exec(head) : null;
  return match ? Number(match[1]) * 1000 : KEEP_ALIVE_HINT_MAX_MS;
}

/** Logs one drain outcome at the right level. */
export function logDrainOutcome(outcome: DrainOutcome): void {
  const log = sdkLog();
  if (outcome.outcome === 'deadline') {
    const upgraded = outcome.upgradedCut > 0 ? `, ${outcome.upgradedCut} upgraded (WebSocket/CONNECT) connections` : '';
    log.warn(
      { phase: 'drain', ...outcome },
      `drain deadline reached: destroyed ${outcome.destroyed} connections (${outcome.requestsCut} requests cut${upgraded}); to let them finish, raise DEPUTY_GRACE_PERIOD together with the pod's terminationGracePeriodSeconds, or make long requests shorter (and close upgraded connections at shutdown)`,
    );
  } else {
    log.info({ phase: 'drain', ...outcome }, 'drain complete');
  }
}
