/**
 * The probe endpoints, and `/metrics` when the source has a registry, as a plain node:http request
 * handler. The Deputy's own health server uses it; an app can mount it on its own port too (it
 * answers those paths and reports everything else as not handled).
 */
import { timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { sdkLog } from '../log/logger.js';
import { probeKindOf, type ProbeKind } from '../contract/probes.js';
import { SETTINGS, settingText } from '../contract/settings.js';
import { LogLimiter, type RepeatedEvent } from '../log/limit.js';
import type { MetricsRegistry } from './types.js';

/**
 * Environment variable: when set, `?verbose` detail (which may carry dependency error messages)
 * and `/metrics` are served only to requests with `Authorization: Bearer <token>`; probes without
 * it get the plain answer, `/metrics` without it 401.
 */
export const HEALTH_TOKEN_ENV = SETTINGS.healthToken.env;

/** Where the registry's exposition is served. */
const METRICS_PATH = '/metrics';

export { PROBE_PATHS, probeKindOf, type ProbeKind } from '../contract/probes.js';

/** Why readiness is failing. */
export type NotReadyReason = 'not_started' | 'shutting_down' | (string & {});

/** A probe's answer: HTTP status and JSON body. */
export interface ProbeResult {
  readonly statusCode: number;
  readonly body: Readonly<Record<string, unknown>>;
}

/** How a probe is asked. */
export interface ProbeOptions {
  /** Include each check's result (`checks`) in the body. Default: false. */
  readonly verbose?: boolean;
}

/**
 * Anything that can answer a probe (the Deputy, whose `probe()` always returns a promise). A
 * source of your own may also answer synchronously.
 */
export interface ProbeSource {
  probe(kind: ProbeKind, options?: ProbeOptions): ProbeResult | Promise<ProbeResult>;
  /** Served at `/metrics` when present; without it `/metrics` is not handled. */
  readonly registry?: MetricsRegistry | undefined;
}

/** A body's JSON and response headers (a raw array: the cheapest form for node:http). */
interface Rendered {
  readonly text: string;
  readonly headers: readonly string[];
}

/**
 * Frozen bodies (the Deputy's fixed answers: `{"status":"ready"}`…) are rendered once: on a busy
 * app port, serialising the same few bytes thousands of times a second is measurable.
 */
const renderedOnce = new WeakMap<object, Rendered>();

function render(body: object, extraHeaders?: Record<string, string>): Rendered {
  const text = JSON.stringify(body);
  const headers = ['content-type', 'application/json; charset=utf-8', 'content-length', String(Buffer.byteLength(text)), 'cache-control', 'no-store'];
  if (extraHeaders) for (const [name, value] of Object.entries(extraHeaders)) headers.push(name, value);
  return { text, headers };
}

function send(res: ServerResponse, method: string, statusCode: number, body: object, extraHeaders?: Record<string, string>): void {
  let rendered = extraHeaders ? undefined : renderedOnce.get(body);
  if (rendered === undefined) {
    rendered = render(body, extraHeaders);
    if (!extraHeaders && Object.isFrozen(body)) renderedOnce.set(body, rendered);
  }
  // writeHead reads the array without keeping or changing it, so one array serves every response.
  res.writeHead(statusCode, rendered.headers as string[]);
  res.end(method === 'HEAD' ? undefined : rendered.text);
}

function pathOf(url: string | undefined): string {
  const raw = url ?? '/';
  const query = raw.indexOf('?');
  return query < 0 ? raw : raw.slice(0, query);
}

/** True when the query string asks for `verbose` (any value but `0` or `false`). */
function wantsVerbose(url: string): boolean {
  const query = url.indexOf('?');
  if (query < 0) return false;
  const params = new URLSearchParams(url.slice(query + 1));
  const value = params.get('verbose');
  return value !== null && value !== '0' && value !== 'false';
}

/** True when no token is configured, or the request carries `Authorization: Bearer <token>`. */
function authorized(req: IncomingMessage): boolean {
  const token = settingText(SETTINGS.healthToken);
  if (token === undefined) return true;
  const header = req.headers.authorization;
  if (typeof header !== 'string') return false;
  const match = /^Bearer[ \t]+(.+?)[ \t]*$/i.exec(header);
  if (!match) return false;
  const given = Buffer.from(match[1]!);
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

const PROBE_FAILED: RepeatedEvent = { event: 'probe-failed', level: 'error', what: 'probes that failed unexpectedly' };
let probeLog: LogLimiter | undefined;

/**
 * A probe that threw is a bug (checks' own failures are answers): the 500 alone would hide it.
 * It fails on every probe, and anyone who reaches the port can probe: rate-limited.
 */
function probeFailed(kind: ProbeKind, error: unknown): void {
  probeLog ??= new LogLimiter(sdkLog());
  probeLog.log(PROBE_FAILED, { err: error, probe: kind }, `${kind} probe failed unexpectedly; answered 500`);
}

/**
 * Answers `req` if it is for a probe path (or `/metrics`, when the source has a registry) and
 * returns true; returns false (and writes nothing) for any other path, so the caller can pass the
 * request on.
 */
export function handleProbeRequest(req: IncomingMessage, res: ServerResponse, source: ProbeSource): boolean {
  return answerProbeRequest(req, res, source) !== undefined;
}

/**
 * {@link handleProbeRequest}, returning the promise of the answer being sent (it never rejects),
 * or undefined for a path that is not a probe's. Internal: Koa's middleware awaits it.
 */
export function answerProbeRequest(req: IncomingMessage, res: ServerResponse, source: ProbeSource): Promise<void> | undefined {
  const kind = probeKindOf(req.url);
  if (kind === undefined) return answerMetricsRequest(req, res, source.registry);
  const method = req.method ?? 'GET';
  if (method !== 'GET' && method !== 'HEAD') {
    send(res, method, 405, { error: 'method_not_allowed' }, { allow: 'GET, HEAD' });
    return Promise.resolve();
  }
  // Probes stay unauthenticated; only the verbose detail is gated by the token.
  const verbose = wantsVerbose(req.url!) && authorized(req);
  let answer: Promise<ProbeResult>;
  try {
    answer = Promise.resolve(source.probe(kind, { verbose }));
  } catch (error) {
    answer = Promise.reject(error); // a ProbeSource that throws instead of rejecting
  }
  return answer.then(
    (result) => send(res, method, result.statusCode, result.body),
    (error: unknown) => {
      probeFailed(kind, error);
      send(res, method, 500, { status: 'error' });
    },
  );
}

const SCRAPE_FAILED: RepeatedEvent = { event: 'metrics-scrape-failed', level: 'error', what: 'failed metrics scrapes' };
let scrapeLog: LogLimiter | undefined;

/**
 * Answers `/metrics` from `registry` (behind the token, when one is set): the promise of the
 * answer being sent (it never rejects), or undefined for any other path or without a registry.
 * The exposition is built from state the metrics already hold: a scrape runs no check.
 */
function answerMetricsRequest(req: IncomingMessage, res: ServerResponse, registry: MetricsRegistry | undefined): Promise<void> | undefined {
  if (registry === undefined || pathOf(req.url) !== METRICS_PATH) return undefined;
  const method = req.method ?? 'GET';
  if (method !== 'GET' && method !== 'HEAD') {
    send(res, method, 405, { error: 'method_not_allowed' }, { allow: 'GET, HEAD' });
    return Promise.resolve();
  }
  if (!authorized(req)) {
    send(res, method, 401, { error: 'unauthorized' }, { 'www-authenticate': 'Bearer' });
    return Promise.resolve();
  }
  return registry.metrics().then(
    (text) => {
      res.writeHead(200, ['content-type', registry.contentType, 'content-length', String(Buffer.byteLength(text)), 'cache-control', 'no-store']);
      res.end(method === 'HEAD' ? undefined : text);
    },
    (error: unknown) => {
      // Usually an app collector that threw: name it, or the 500 alone hides it. It fails on
      // every scrape: rate-limited.
      scrapeLog ??= new LogLimiter(sdkLog());
      scrapeLog.log(SCRAPE_FAILED, { err: error }, 'metrics scrape failed (a collect function of a metric in the registry threw); answered 500');
      send(res, method, 500, { error: 'metrics_failed' });
    },
  );
}

/** A request listener for a dedicated health server: probe paths (and `/metrics` with a registry), else 404. */
function healthListener(source: ProbeSource): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    if (!handleProbeRequest(req, res, source)) send(res, req.method ?? 'GET', 404, { error: 'not_found' });
  };
}

/**
 * A probe is one small GET, on a fresh connection (the kubelet's) or a kept-alive one: a client
 * that has not sent a whole request within this long is cut with a 408. That covers slowloris
 * clients (request sent a byte at a time, or never finished) and pipelining clients that never
 * read their answers (the request parsed after the pause never completes).
 */
export const HEALTH_REQUEST_TIMEOUT_MS = 5000;
/**
 * How often Node looks for connections past those timeouts. Its default, 30 s, let a dawdler
 * hold its descriptor for up to 35 s, long enough for 300 of them to lock probes out of a process
 * limited to 256 descriptors for half a minute, and for a liveness probe to fail.
 */
const TIMEOUT_CHECK_INTERVAL_MS = 1000;

const HEALTH_SERVER_ERROR: RepeatedEvent = { event: 'health-server-error', level: 'error', what: 'health server errors' };

/**
 * The Deputy's dedicated health server. No connection cap: a cap would let the same dawdlers
 * lock the kubelet's probes out; the timeouts bound how long each of them holds a descriptor.
 */
function createHealthServer(source: ProbeSource): Server {
  return createServer(
    { headersTimeout: HEALTH_REQUEST_TIMEOUT_MS, requestTimeout: HEALTH_REQUEST_TIMEOUT_MS, connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS },
    healthListener(source),
  );
}

/** Starts a dedicated health server for `source` on `host:port`; rejects naming the port when it cannot listen. */
export function listenHealth(source: ProbeSource, port: number, host: string): Promise<Server> {
  const server = createHealthServer(source);
  return new Promise((resolve, reject) => {
    const onListenError = (error: NodeJS.ErrnoException): void => {
      const hint = error.code === 'EADDRINUSE' ? `: port ${port} is in use; set ${SETTINGS.healthCheckPort.env} or pass { port }` : '';
      reject(Object.assign(new Error(`health server cannot listen on ${host}:${port} (${error.code ?? error.message})${hint}`), { cause: error }));
    };
    server.once('error', onListenError);
    server.listen(port, host, () => {
      // onListenError only serves listen. A later 'error' (e.g. accept failing with EMFILE)
      // with no listener would crash the app: log it and keep serving.
      server.off('error', onListenError);
      // Repeats as long as the cause lasts (every accept while out of descriptors): rate-limited.
      const limited = new LogLimiter(sdkLog());
      server.once('close', () => limited.flush());
      server.on('error', (error: NodeJS.ErrnoException) => {
        limited.log(
          HEALTH_SERVER_ERROR,
          { phase: 'health', err: error, host, port },
          `health server error (${error.code ?? error.message}); it keeps listening, but probes may fail meanwhile and the kubelet may restart the container or take the pod out of service`,
        );
      });
      const address = server.address();
      sdkLog().info({ host, port: typeof address === 'object' && address ? address.port : port }, 'health server listening');
      resolve(server);
    });
  });
}
