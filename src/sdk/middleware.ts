/**
 * The probe endpoints on the app's own port: a node:http listener wrapper and Express/Koa
 * middleware, all built on `handleProbeRequest`, so they answer exactly like the health server.
 * Probe paths are answered, and `/metrics` when the Deputy has a registry; every other request
 * passes on untouched.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { answerProbeRequest, handleProbeRequest, type ProbeSource } from './health.js';

/** A node:http request listener. */
export type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Wraps an app's node:http listener: probe paths are answered from `source` (the Deputy), every
 * other request goes to `app`. `createServer(withProbes(deputy, app))`.
 */
export function withProbes(source: ProbeSource, app: RequestListener): RequestListener {
  return (req, res) => {
    if (!handleProbeRequest(req, res, source)) app(req, res);
  };
}

/** Express (4 and 5) middleware answering the probe paths: `app.use(expressProbes(deputy))`. */
export function expressProbes(source: ProbeSource): (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void {
  return (req, res, next) => {
    if (!handleProbeRequest(req, res, source)) next();
  };
}

/** The part of a Koa context the middleware uses. */
export interface KoaContextLike {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly url: string;
  respond?: boolean;
}

/**
 * Koa middleware answering the probe paths: `app.use(koaProbes(deputy))`. It writes the raw
 * response itself (`ctx.respond = false`) and resolves once the answer is sent, so Koa
 * middleware around it still sees the request finish.
 */
export function koaProbes(source: ProbeSource): (ctx: KoaContextLike, next: () => Promise<unknown>) => Promise<unknown> {
  return async (ctx, next) => {
    const answered = answerProbeRequest(ctx.req, ctx.res, source);
    if (answered === undefined) return next();
    ctx.respond = false;
    await answered;
    return undefined;
  };
}
