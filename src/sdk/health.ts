/**
 * The probe endpoints as a plain node:http request handler. The Deputy's own health server uses
 * it; an app can mount it on its own port too (it answers the probe paths and reports everything
 * else as not handled).
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sdkLog } from '../log/logger.js';
import { probeKindOf, type ProbeKind } from '../contract/probes.js';
import { SETTINGS } from '../contract/settings.js';

/**
 * Environment variable: when set, `?verbose` detail (which may carry dependency error messages)
 * is served only to requests with `Authorization: Bearer <token>`; others get the plain answer.
 */
export const HEALTH_TOKEN_ENV = SETTINGS.healthToken.env;

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

/** Anything that can answer a probe (the Deputy). */
export interface ProbeSource {
  probe(kind: ProbeKind, options?: ProbeOptions): ProbeResult | Promise<ProbeResult>;
}

function send(res: ServerResponse, method: string, statusCode: number, body: unknown, extraHeaders?: Record<string, string>): void {
  const text = JSON.stringify(body);
  // Raw header array: the cheapest form for node:http, which matters on a busy app port.
  const headers = ['content-type', 'application/json; charset=utf-8', 'content-length', String(Buffer.byteLength(text)), 'cache-control', 'no-store'];
  if (extraHeaders) for (const [name, value] of Object.entries(extraHeaders)) headers.push(name, value);
  res.writeHead(statusCode, headers);
  res.end(method === 'HEAD' ? undefined : text);
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
function mayShowDetail(req: IncomingMessage): boolean {
  const token = process.env[HEALTH_TOKEN_ENV];
  if (!token) return true;
  const header = req.headers.authorization;
  if (typeof header !== 'string') return false;
  const match = /^Bearer[ \t]+(.+?)[ \t]*$/i.exec(header);
  if (!match) return false;
  const given = Buffer.from(match[1]!);
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** A probe that threw is a bug (checks' own failures are answers): the 500 alone would hide it. */
function probeFailed(kind: ProbeKind, error: unknown): void {
  sdkLog().error({ err: error, probe: kind }, `${kind} probe failed unexpectedly; answered 500`);
}

/**
 * Answers `req` if it is for a probe path and returns true; returns false (and writes nothing)
 * for any other path, so the caller can pass the request on.
 */
export function handleProbeRequest(req: IncomingMessage, res: ServerResponse, source: ProbeSource): boolean {
  const kind = probeKindOf(req.url);
  if (kind === undefined) return false;
  const method = req.method ?? 'GET';
  if (method !== 'GET' && method !== 'HEAD') {
    send(res, method, 405, { error: 'method_not_allowed' }, { allow: 'GET, HEAD' });
    return true;
  }
  // Probes stay unauthenticated; only the verbose detail is gated by the token.
  const verbose = wantsVerbose(req.url!) && mayShowDetail(req);
  let answer: ProbeResult | Promise<ProbeResult>;
  try {
    answer = source.probe(kind, { verbose });
  } catch (error) {
    probeFailed(kind, error);
    send(res, method, 500, { status: 'error' });
    return true;
  }
  if (answer instanceof Promise) {
    answer.then(
      (result) => send(res, method, result.statusCode, result.body),
      (error: unknown) => {
        probeFailed(kind, error);
        send(res, method, 500, { status: 'error' });
      },
    );
  } else {
    send(res, method, answer.statusCode, answer.body);
  }
  return true;
}

/** A request listener for a dedicated health server: probe paths, else 404. */
export function healthListener(source: ProbeSource): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    if (!handleProbeRequest(req, res, source)) send(res, req.method ?? 'GET', 404, { error: 'not_found' });
  };
}
