// Readiness and liveness checks on the app's own port, through real HTTP: the same answers as the
// health server, every other path passed on to the app (node:http, Express, Koa).
process.env.DEPUTY_LOG_LEVEL = 'silent';
import t from 'tap';
import type { Test } from 'tap';
import { createServer } from 'node:http';
import express from 'express';
import Koa from 'koa';
import { Deputy, NotReady, withProbes, expressProbes, koaProbes } from '../src/index.js';
import { get, listen } from './probe-http.js';

/** Asserts the app-port endpoints answer like the health server and pass everything else on. */
async function assertAppPort(t: Test, port: number, deputy: Deputy, ready: { value: boolean }): Promise<void> {
  ready.value = false;
  let answer = await get(port, '/readyz');
  t.same([answer.status, answer.json], [503, { status: 'not_ready', reasons: ['not_started', 'dep:down'] }]);
  answer = await get(port, '/readyz?verbose');
  t.match(answer.json.checks, [{ name: 'dep', ok: false, message: 'dependency is down' }]);
  deputy.readied();
  ready.value = true;
  t.same((await get(port, '/readyz')).json, { status: 'ready' });
  t.same((await get(port, '/livez')).json, { status: 'ok' });
  const other = await get(port, '/orders/42');
  t.same([other.status, other.text], [200, 'app: /orders/42'], 'other paths reach the app');
}

function appDeputy(): { deputy: Deputy; ready: { value: boolean } } {
  const ready = { value: false };
  const deputy = new Deputy().addReadinessCheck('dep', () => {
    if (!ready.value) throw new NotReady('down', 'dependency is down');
  });
  return { deputy, ready };
}

t.test('on the app port: node:http withProbes', async (t) => {
  const { deputy, ready } = appDeputy();
  const server = createServer(withProbes(deputy, (req, res) => res.end(`app: ${req.url}`)));
  await assertAppPort(t, await listen(t, server), deputy, ready);
});

t.test('on the app port: Express middleware', async (t) => {
  const { deputy, ready } = appDeputy();
  const app = express();
  app.use(expressProbes(deputy));
  app.get('/orders/:id', (req, res) => void res.type('text/plain').send(`app: ${req.url}`));
  await assertAppPort(t, await listen(t, createServer(app)), deputy, ready);
});

t.test('on the app port: Koa middleware', async (t) => {
  const { deputy, ready } = appDeputy();
  const app = new Koa();
  let sawProbeFinish = false;
  app.use(async (ctx, next) => {
    await next();
    if (ctx.url.startsWith('/readyz')) sawProbeFinish = ctx.res.writableEnded;
  });
  app.use(koaProbes(deputy));
  app.use((ctx) => {
    ctx.body = `app: ${ctx.url}`;
  });
  await assertAppPort(t, await listen(t, createServer(app.callback())), deputy, ready);
  t.ok(sawProbeFinish, 'outer Koa middleware resumes after the probe answer is sent');
});
