// HTTP helpers for the probe tests: a plain GET, a Deputy health server on a free loopback port.
import { request, type Server } from 'node:http';
import type { Test } from 'tap';
import type { Deputy } from '../src/index.js';

export interface Answer {
  status: number;
  json: Record<string, any>;
  text: string;
}

export function get(port: number, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c: string) => (text += c));
      res.on('end', () => {
        let json: Record<string, any> = {};
        try {
          json = JSON.parse(text);
        } catch {
          // not JSON (the app's own routes)
        }
        resolve({ status: res.statusCode!, json, text });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

export async function serve(t: Test, deputy: Deputy): Promise<number> {
  const server = await deputy.serve({ host: '127.0.0.1', port: 0 });
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as { port: number }).port;
}

export function listen(t: Test, server: Server): Promise<number> {
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // A request the test left unanswered on purpose must not hold close() open.
        server.closeAllConnections();
      }),
  );
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
}

/** A promise with its resolve function exposed. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

