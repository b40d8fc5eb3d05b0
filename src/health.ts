/**
 * The probe endpoints as a plain node:http request handler. The Deputy's own health server uses
 * it; an app can mount it on its own port too (it answers the probe paths and reports everything
 * else as not handled).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Which probe a path answers. */
export type ProbeKind = 'live' | 'ready' | 'startup';

/** Probe paths, matched exactly after the query string is dropped. */
export const PROBE_PATHS: Readonly<Record<string, ProbeKind>> = {
  '/health/live': 'live',
  '/livez': 'live',
  '/healthz': 'live',
  '/health/ready': 'ready',
  '/readyz': 'ready',
  '/startupz': 'startup',
};

/** Why readiness is failing. */
export type NotReadyReason = 'not_started' | 'shutting_down' | (string & {});

/** A probe's answer: HTTP status and JSON body. */
export interface ProbeResult {
  readonly statusCode: number;
  readonly body: Readonly<Record<string, unknown>>;
}

/** Anything that can answer a probe (the Deputy). */
export interface ProbeSource {
  probe(kind: ProbeKind): ProbeResult | Promise<ProbeResult>;
}

function send(res: ServerResponse, method: string, statusCode: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(statusCode, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(method === 'HEAD' ? undefined : text);
}

/** The probe kind a request path names, or undefined. */
export function probeKindOf(url: string | undefined): ProbeKind | undefined {
  const path = (url ?? '/').split('?', 1)[0]!;
  return Object.hasOwn(PROBE_PATHS, path) ? PROBE_PATHS[path] : undefined;
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
  const answer = source.probe(kind);
  if (answer instanceof Promise) {
    answer.then(
      (result) => send(res, method, result.statusCode, result.body),
      () => send(res, method, 500, { status: 'error' }),
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
