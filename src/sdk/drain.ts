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
 * Idle sockets are not closed at once: why, and the Keep-Alive hint that keeps that wait short,
 * are in keep-alive.ts. The connection records are drain-connections.ts, GOAWAY for HTTP/2
 * sessions http2-goaway.ts, and the outcome and its log drain-outcome.ts.
 */
import { Server as NetServer, type Socket } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2Session, Http2Stream } from 'node:http2';
import { probeKindOf } from './health.js';
import { countByState, countConnections, countInFlight, countUpgraded, openConnection, tcpSocketOf, type Attached, type Connection, type ConnectionStates, type DrainableServer } from './drain-connections.js';
import { advertisedTimeoutMs, capKeepAliveHint, hintFor, scheduleIdleClose } from './keep-alive.js';
import { goawayWhenUsed, sendGoaway } from './http2-goaway.js';
import type { DrainOutcome } from './drain-outcome.js';

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
    return countConnections(this.#servers);
  }

  /** Upgraded connections (WebSocket, CONNECT) currently open. */
  get upgradedCount(): number {
    return countUpgraded(this.#servers);
  }

  /** Requests (HTTP/1) and streams (HTTP/2) currently in flight. */
  get inFlight(): number {
    return countInFlight(this.#servers);
  }

  /** Requests and streams cut at the drain deadline so far (for metrics: known as they are cut). */
  get requestsCut(): number {
    return this.#requestsCut;
  }

  /** Requests in flight and connections by state, counted in one pass (for metrics). */
  connectionStates(): ConnectionStates {
    return countByState(this.#servers);
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
    const connection = openConnection(attached, socket, hintFor(attached.server));
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
    if (this.#finishing) scheduleIdleClose(connection);
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
    capKeepAliveHint(res);
    res.once('close', () => {
      connection.advertisedMs = advertisedTimeoutMs(res);
      connection.active -= 1;
      connection.lastActiveAt = Date.now();
      connection.responses.delete(res);
      if (this.#finishing) scheduleIdleClose(connection);
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
    if (this.#draining) goawayWhenUsed(connection, session);
  }

  /** A connection is new traffic at its first request, unless that request is a probe. */
  #noteFirstRequest(connection: Connection, url: string | undefined): void {
    if (connection.requested) return;
    connection.requested = true;
    if (probeKindOf(url) === undefined) this.#lastConnectionAt = Date.now();
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
      sendGoaway(connection);
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
        scheduleIdleClose(connection);
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
}
