/**
 * Built-in checks for common dependencies. PostgreSQL and Redis go through the client the app
 * already has (pg Pool/Client, node-redis or ioredis): nothing is imported here, so those stay
 * optional peer dependencies loaded by the app only. memcached, TCP and HTTP use node:net/http.
 * Each failure throws `NotReady` with a stable detail (`unavailable`, `bad_status`,
 * `body_mismatch`, `unexpected_reply`) and the dependency's own message.
 */
import { connect, type Socket } from 'node:net';
import { NotReady, type Check } from './check-result.js';
import { httpGet, judgeAnswer } from '../contract/http-get.js';
import { UsageError } from '../contract/errors.js';

function unavailable(what: string, error: unknown): NotReady {
  if (error instanceof NotReady) return error;
  const message = error instanceof Error ? error.message || (error as NodeJS.ErrnoException).code || error.name : String(error);
  return new NotReady('unavailable', `${what}: ${message}`, { cause: error });
}

/** A pg `Pool` or `Client` (or anything whose promise-returning `query` takes pg's query config). */
export interface QueryClient {
  query(config: { text: string; query_timeout?: number }): Promise<unknown>;
}

/** Options of `postgresCheck`. */
export interface PostgresCheckOptions {
  /**
   * pg's `query_timeout` for the `SELECT 1`: pg cannot be cancelled through the check's signal,
   * so this is what ends a call a hung server never answers (a Pool then drops the connection).
   * Until it ends, probes answer `postgres:timeout` without sending another query. Set it to the
   * check's `timeoutMs` when you change that. Default: 1000.
   */
  readonly queryTimeoutMs?: number;
}

/** PostgreSQL: `SELECT 1` through the app's pg Pool or Client. */
export function postgresCheck(client: QueryClient, options: PostgresCheckOptions = {}): Check {
  if (typeof client?.query !== 'function') throw new UsageError('postgresCheck(client) needs a pg Pool or Client (something with query(sql))');
  const { queryTimeoutMs = 1000 } = options;
  if (!Number.isInteger(queryTimeoutMs) || queryTimeoutMs < 1 || queryTimeoutMs > 2_147_483_647) {
    throw new UsageError(`postgresCheck: queryTimeoutMs must be an integer number of milliseconds from 1 to 2147483647, got ${String(queryTimeoutMs)}`);
  }
  return async () => {
    try {
      // A fresh config each time: pg writes its callback onto the object it is given.
      await client.query({ text: 'SELECT 1', query_timeout: queryTimeoutMs });
    } catch (error) {
      throw unavailable('postgres', error);
    }
  };
}

/** A node-redis or ioredis client (anything with a promise-returning `ping()`). */
export interface PingClient {
  ping(): Promise<unknown>;
}

/**
 * Redis: `PING` through the app's node-redis or ioredis client. A client with an offline queue
 * (both libraries' default) holds commands while disconnected, so an outage shows as `timeout`;
 * with the queue disabled it shows as `unavailable` at once. A PING cannot be cancelled: while one
 * that timed out is still queued, probes answer `<name>:timeout` without queueing another.
 */
export function redisCheck(client: PingClient): Check {
  if (typeof client?.ping !== 'function') throw new UsageError('redisCheck(client) needs a node-redis or ioredis client (something with ping())');
  return async () => {
    let reply: unknown;
    try {
      reply = await client.ping();
    } catch (error) {
      throw unavailable('redis', error);
    }
    if (reply !== 'PONG') throw new NotReady('unexpected_reply', `redis: PING answered ${JSON.stringify(reply)}, not "PONG"`);
  };
}

/** Where a TCP service listens. */
export interface TcpTarget {
  /** Default: 127.0.0.1. */
  readonly host?: string;
  readonly port: number;
}

function checkTarget(target: TcpTarget, what: string): { host: string; port: number } {
  const port = target?.port;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError(`${what}: port must be an integer from 1 to 65535, got ${String(port)}`);
  return { host: target.host ?? '127.0.0.1', port };
}

/** Connects, and calls `talk` with the socket once connected; cleans up on abort. */
function withSocket(host: string, port: number, signal: AbortSignal, talk: (socket: Socket, done: (error?: unknown) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    let settled = false;
    const done = (error?: unknown): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      if (error === undefined) resolve();
      else reject(error);
    };
    const onAbort = (): void => done(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('error', done);
    socket.once('connect', () => talk(socket, done));
  });
}

/** TCP: the port accepts a connection. */
export function tcpCheck(target: TcpTarget): Check {
  const { host, port } = checkTarget(target, 'tcpCheck');
  return async (signal) => {
    try {
      await withSocket(host, port, signal, (_socket, done) => done());
    } catch (error) {
      throw unavailable(`tcp ${host}:${port}`, error);
    }
  };
}

/** memcached: `stats` answers a complete listing (ending in `END`). Default port 11211. */
export function memcachedCheck(target: Partial<TcpTarget> = {}): Check {
  const { host, port } = checkTarget({ port: 11211, ...target }, 'memcachedCheck');
  return async (signal) => {
    try {
      await withSocket(host, port, signal, (socket, done) => {
        let reply = '';
        socket.setEncoding('latin1');
        socket.on('data', (chunk: string) => {
          reply += chunk;
          if (reply.endsWith('END\r\n')) done();
          else if (/^(ERROR|SERVER_ERROR|CLIENT_ERROR)/.test(reply) && reply.endsWith('\r\n')) done(new Error(`stats answered ${reply.trim()}`));
        });
        socket.once('end', () => done(new Error('connection closed before stats finished')));
        socket.write('stats\r\n');
      });
    } catch (error) {
      throw unavailable(`memcached ${host}:${port}`, error);
    }
  };
}

/** Options of `httpCheck`. */
export interface HttpCheckOptions {
  /** The expected status code. Default: any 2xx. */
  readonly expectStatus?: number;
  /** A pattern the body must match (e.g. `/"state":"RUNNING"/`). Default: none. */
  readonly expectBody?: RegExp;
  /** Extra request headers. */
  readonly headers?: Readonly<Record<string, string>>;
}

/** HTTP GET: the status is as expected and, optionally, the body matches. */
export function httpCheck(url: string | URL, options: HttpCheckOptions = {}): Check {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    throw new UsageError(`httpCheck: ${JSON.stringify(String(url))} is not a valid URL`);
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:') throw new UsageError(`httpCheck: ${target.href} is not an http: or https: URL`);
  const { expectStatus, expectBody, headers } = options;
  return async (signal) => {
    let answer;
    try {
      answer = await httpGet(target, headers ? { signal, headers } : { signal });
    } catch (error) {
      throw unavailable(`GET ${target.href}`, error);
    }
    const verdict = judgeAnswer(answer, expectStatus, expectBody);
    if (verdict === 'bad_status') {
      throw new NotReady('bad_status', `GET ${target.href} answered ${answer.status}, expected ${expectStatus ?? '2xx'}`);
    }
    if (verdict === 'body_mismatch') {
      throw new NotReady('body_mismatch', `GET ${target.href}: body does not match ${String(expectBody)}`);
    }
  };
}
