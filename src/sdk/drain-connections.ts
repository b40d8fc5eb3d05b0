/**
 * The drain's bookkeeping of the attached servers' connections: one record per accepted TCP
 * connection (requests or streams in flight, when it was last active, what its client was told),
 * and the counts over them that metrics and the drain's outcome read. Kept apart from drain.ts,
 * which drives the sequence: these records are the state it keeps, not its steps.
 */
import type { Server as NetServer, Socket } from 'node:net';
import type { ServerResponse } from 'node:http';
import type { Http2Session } from 'node:http2';

/** Anything `deputy.attach()` accepts: node:http, node:https and node:http2 (plain or secure) servers. */
export type DrainableServer = NetServer;

/** One accepted TCP connection. */
export interface Connection {
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

/** An attached server and its open connections, by TCP socket. */
export interface Attached {
  readonly server: DrainableServer;
  readonly connections: Map<Socket, Connection>;
  listening: boolean;
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

/** Records a connection just accepted on `attached`; `advertisedMs` is the idle time it is allowed before its first request. */
export function openConnection(attached: Attached, socket: Socket, advertisedMs: number): Connection {
  const connection: Connection = {
    socket,
    server: attached,
    active: 0,
    lastActiveAt: Date.now(),
    advertisedMs,
    responses: new Set(),
    session: undefined,
    toldToClose: false,
    upgraded: false,
    requested: false,
    idleTimer: undefined,
  };
  attached.connections.set(socket, connection);
  return connection;
}

/** The TCP socket under a TLS socket (TLSSocket keeps it as `_parent`), or the socket itself. */
export function tcpSocketOf(socket: Socket): Socket {
  return ((socket as Socket & { _parent?: Socket | null })._parent ?? socket) as Socket;
}

/** Connections open on `servers`. */
export function countConnections(servers: readonly Attached[]): number {
  return servers.reduce((sum, s) => sum + s.connections.size, 0);
}

/** Upgraded connections (WebSocket, CONNECT) open on `servers`. */
export function countUpgraded(servers: readonly Attached[]): number {
  let sum = 0;
  for (const s of servers) for (const c of s.connections.values()) if (c.upgraded) sum += 1;
  return sum;
}

/** Requests (HTTP/1) and streams (HTTP/2) in flight on `servers`. */
export function countInFlight(servers: readonly Attached[]): number {
  let sum = 0;
  for (const s of servers) for (const c of s.connections.values()) sum += c.active;
  return sum;
}

/** Requests in flight and connections by state, counted in one pass. */
export function countByState(servers: readonly Attached[]): ConnectionStates {
  const states = { inFlight: 0, active: 0, idle: 0, upgraded: 0 };
  for (const s of servers) {
    for (const c of s.connections.values()) {
      states.inFlight += c.active;
      if (c.upgraded) states.upgraded += 1;
      else if (c.active > 0) states.active += 1;
      else states.idle += 1;
    }
  }
  return states;
}
