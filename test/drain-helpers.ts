// Shared by the test/drain-*.test.ts suites: test/fixtures/drain-app.js started in a child process,
// a plain node:http client, and the app's log records.
import { Agent, request, type IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import type { Test } from 'tap';
import { spawnFixture, tempIpcDir, type Child } from './helpers.js';

export interface Answer {
  status: number;
  body: string;
  headers: IncomingHttpHeaders;
  socket: Socket;
}

export function get(port: number, path: string, agent: Agent | false = false, method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent, method }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, body, headers: res.headers, socket: req.socket! }));
    });
    req.on('error', reject);
    req.end();
  });
}

export async function startApp(t: Test, env: NodeJS.ProcessEnv = {}): Promise<{ app: Child; port: number }> {
  const app = spawnFixture(t, 'drain-app.js', { DEPUTY_IPC_DIR: tempIpcDir(t), DEPUTY_DRAIN_DELAY: '0', DEPUTY_DRAIN_QUIET: '0', ...env });
  const listening = await app.waitForLog('app listening');
  return { app, port: listening.port as number };
}

export function record(app: Child, msg: string): Record<string, unknown> {
  return app.logs.find((r) => typeof r.msg === 'string' && r.msg.includes(msg)) ?? {};
}

export function socketClosed(socket: Socket): Promise<number> {
  return new Promise((resolve) => (socket.destroyed ? resolve(Date.now()) : socket.once('close', () => resolve(Date.now()))));
}
