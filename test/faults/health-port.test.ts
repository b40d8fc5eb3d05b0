// The Deputy's health port under abuse, against a real app (test/fixtures/deputy-app.js on a free
// loopback port): 300 slowloris connections, the same when they exhaust the process's file
// descriptors, malformed request lines, 100 KiB headers, random bytes, thousands of pipelined
// GETs on one socket. What must hold: real probes on fresh connections keep answering
// correctly within 1 s each (or, once descriptors ran out, again within the request timeout), the
// dawdlers are cut within the request timeout, the app survives with bounded memory and logs a
// bounded number of lines.
import t, { type Test } from 'tap';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { HEALTH_REQUEST_TIMEOUT_MS } from '../../src/sdk/health.js';
import { FIXTURES, spawnChild, spawnFixture, type Child } from '../helpers.js';
import { rssKb } from './abuse.js';

const PROBE_DEADLINE_MS = 1000;
/** Node checks the request timeout every second; then the 408 and the close. */
const CUT_SLACK_MS = 2500;
const SLOWLORIS = 300;

const linuxOnly = process.platform === 'linux' ? false : 'reads /proc';

/** A pause between probes, as a kubelet's period would be (shortened): pacing, not synchronisation. */
const pace = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 100));

interface ProbeAnswer {
  readonly status: number | string;
  readonly body: string;
  readonly ms: number;
}

/** One probe on a fresh connection, as the kubelet sends it; gives up after PROBE_DEADLINE_MS. */
function probe(port: number, path: string): Promise<ProbeAnswer> {
  const started = Date.now();
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false, headers: { connection: 'close' } }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, body, ms: Date.now() - started }));
    });
    req.setTimeout(PROBE_DEADLINE_MS, () => req.destroy(new Error('timeout')));
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ status: error.code ?? error.message, body: '', ms: Date.now() - started }));
    req.end();
  });
}

const EXPECTED: Record<string, [number, string]> = { '/livez': [200, '{"status":"ok"}'], '/readyz': [200, '{"status":"ready"}'] };

/** Both probes answer correctly within the deadline: returns the slower answer's time, or fails. */
async function probesAnswer(t: Test, port: number, when: string): Promise<number> {
  let slowest = 0;
  for (const [path, [status, body]] of Object.entries(EXPECTED)) {
    const answer = await probe(port, path);
    t.same([answer.status, answer.body], [status, body], `${when}: ${path} answers ${status}`);
    t.ok(answer.ms <= PROBE_DEADLINE_MS, `${when}: ${path} within ${PROBE_DEADLINE_MS} ms (${answer.ms} ms)`);
    slowest = Math.max(slowest, answer.ms);
  }
  return slowest;
}

/** The app, readied, with its port and its memory and log size before the abuse. */
async function startApp(t: Test, command?: [string, string[]]): Promise<{ app: Child; port: number; rssBeforeKb: number; logsBefore: number }> {
  const app = command ? spawnChild(t, command[0], command[1], { DEPUTY_LOG_LEVEL: 'info' }) : spawnFixture(t, 'deputy-app.js', { DEPUTY_LOG_LEVEL: 'info' });
  const { port } = await app.waitForLog('serving');
  app.send('ready');
  await app.waitForLog((r) => r.msg === 'ready');
  return { app, port: Number(port), rssBeforeKb: rssKb(app.pid) ?? 0, logsBefore: app.logs.length };
}

/** A client that starts a request and never finishes it; `cutAt` is when the server closed it. */
interface Dawdler {
  readonly socket: Socket;
  cutAt: number | undefined;
  answer: string;
}

/** Opens `count` slowloris connections of three kinds: silent, a partial request line, unfinished headers dripping a byte every 500 ms. */
function dawdlers(t: Test, port: number, count: number): Dawdler[] {
  const all: Dawdler[] = [];
  for (let i = 0; i < count; i++) {
    const socket = connect(port, '127.0.0.1');
    const dawdler: Dawdler = { socket, cutAt: undefined, answer: '' };
    socket.on('error', () => {}); // resets once descriptors run out
    socket.setEncoding('latin1').on('data', (chunk: string) => (dawdler.answer += chunk));
    socket.on('close', () => (dawdler.cutAt = Date.now()));
    if (i % 3 === 1) socket.write('GE');
    if (i % 3 === 2) {
      socket.write('GET /livez HTTP/1.1\r\nHost: x\r\nX-Drip: ');
      const timer = setInterval(() => socket.write('y'), 500);
      socket.on('close', () => clearInterval(timer));
    }
    all.push(dawdler);
  }
  t.teardown(() => all.forEach((d) => d.socket.destroy()));
  return all;
}

t.test(`${SLOWLORIS} slowloris connections: probes still answer within 1 s; the dawdlers are cut at the request timeout`, { skip: linuxOnly }, async (t) => {
  const { app, port, rssBeforeKb, logsBefore } = await startApp(t);
  const openedAt = Date.now();
  const slow = dawdlers(t, port, SLOWLORIS);
  const latencies: number[] = [];
  // Probe all along, until the server has cut every dawdler (or the bound has passed).
  const bound = HEALTH_REQUEST_TIMEOUT_MS + CUT_SLACK_MS;
  while (slow.some((d) => d.cutAt === undefined) && Date.now() - openedAt < bound) {
    latencies.push(await probesAnswer(t, port, `with ${slow.filter((d) => d.cutAt === undefined).length} dawdlers open`));
    await pace();
  }
  const cut = slow.filter((d) => d.cutAt !== undefined);
  const lastCutMs = Math.max(...cut.map((d) => d.cutAt! - openedAt));
  t.equal(cut.length, SLOWLORIS, `every dawdler cut by the server within ${bound} ms (cut: ${cut.length}, the last after ${lastCutMs} ms)`);
  // A drip landing on a socket the server has just closed draws a reset, which can discard the
  // 408 before the client reads it: told 408, or reset, but never anything else.
  const told408 = cut.filter((d) => d.answer.startsWith('HTTP/1.1 408')).length;
  t.ok(cut.every((d) => d.answer === '' || d.answer.startsWith('HTTP/1.1 408')), `each told 408 Request Timeout (${told408}) or reset`);
  await probesAnswer(t, port, 'afterwards');
  const grownKb = (rssKb(app.pid) ?? 0) - rssBeforeKb;
  t.ok(grownKb < 64 * 1024, `memory grew ${Math.round(grownKb / 1024)} MB`);
  t.ok(app.logs.length - logsBefore <= 5, `a bounded log: ${app.logs.length - logsBefore} new lines`);
  latencies.sort((a, b) => a - b);
  t.comment(
    `${latencies.length} probe pairs under ${SLOWLORIS} dawdlers: slowest ${latencies.at(-1)} ms, median ${latencies[latencies.length >> 1]} ms; all cut after ${lastCutMs} ms (${told408} told 408); RSS +${Math.round(grownKb / 1024)} MB; ${app.logs.length - logsBefore} log lines`,
  );
});

t.test('dawdlers that exhaust the file descriptors: the app survives and answers again within the request timeout', { skip: linuxOnly }, async (t) => {
  const limit = 256;
  const { app, port, logsBefore } = await startApp(t, ['sh', ['-c', `ulimit -n ${limit} && exec "$0" "$1"`, process.execPath, join(FIXTURES, 'deputy-app.js')]]);
  const openedAt = Date.now();
  dawdlers(t, port, limit + 50);
  // Wait for the exhaustion to show, then for a probe to get through again.
  let refused = 0;
  let recoveredAfterMs: number | undefined;
  const bound = HEALTH_REQUEST_TIMEOUT_MS + CUT_SLACK_MS + 1000;
  while (Date.now() - openedAt < bound) {
    const answer = await probe(port, '/livez');
    if (answer.status === 200) {
      if (refused > 0) {
        recoveredAfterMs = Date.now() - openedAt;
        break;
      }
    } else {
      refused += 1;
    }
    await pace();
  }
  t.ok(refused > 0, `the descriptors ran out: ${refused} probes failed`);
  t.ok(recoveredAfterMs !== undefined, `probes answer again within ${bound} ms (after ${recoveredAfterMs} ms)`);
  await probesAnswer(t, port, 'afterwards');
  t.equal(app.process.exitCode, null, 'the app is still running');
  t.ok(app.logs.length - logsBefore <= 5, `a bounded log: ${app.logs.length - logsBefore} new lines`);
  t.comment(`limit ${limit} descriptors, ${limit + 50} dawdlers: ${refused} probes failed, answering again after ${recoveredAfterMs} ms; ${app.logs.length - logsBefore} log lines`);
});

/** Sends `payload` on a fresh connection; resolves with what came back once the server closed it. */
function exchange(port: number, payload: string | Buffer, timeoutMs = 5000): Promise<{ answer: string; closed: boolean }> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ answer, closed: false });
    }, timeoutMs);
    socket.on('error', () => {});
    socket.setEncoding('latin1').on('data', (chunk: string) => (answer += chunk));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ answer, closed: true });
    });
    socket.write(payload);
  });
}

t.test('malformed, oversized, random and pipelined input: answered or closed, and probes still answer', { skip: linuxOnly }, async (t) => {
  const { app, port, rssBeforeKb, logsBefore } = await startApp(t);
  const get = 'GET /livez HTTP/1.1\r\nHost: x\r\n\r\n';

  for (const [what, payload, expected] of [
    ['a malformed request line', 'HELLO WORLD\r\n\r\n', /^HTTP\/1\.1 400 /],
    ['an unknown HTTP version', 'GET /livez HTTP/9.9\r\n\r\n', /^HTTP\/1\.1 (400|505) /],
    ['a 100 KiB header', `GET /livez HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(100 * 1024)}\r\n\r\n`, /^HTTP\/1\.1 431 /],
    ['64 KiB of random bytes', randomBytes(64 * 1024), /^HTTP\/1\.1 400 /],
  ] as const) {
    const { answer, closed } = await exchange(port, payload);
    t.match(answer, expected, `${what}: ${answer.split('\r\n')[0]}`);
    t.ok(closed, `${what}: the connection is closed`);
    await probesAnswer(t, port, `after ${what}`);
  }

  const pipelined = 5000;
  const started = Date.now();
  const { answer } = await exchange(port, `${get.repeat(pipelined - 1)}GET /livez HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, 10_000);
  const answered = answer.split('HTTP/1.1 200 OK').length - 1;
  t.equal(answered, pipelined, `${pipelined} pipelined GETs on one socket: all answered (${Date.now() - started} ms)`);
  await probesAnswer(t, port, `after ${pipelined} pipelined GETs`);
  const grownKb = (rssKb(app.pid) ?? 0) - rssBeforeKb;
  t.ok(grownKb < 64 * 1024, `memory grew ${Math.round(grownKb / 1024)} MB`);
  t.ok(app.logs.length - logsBefore <= 5, `a bounded log: ${app.logs.length - logsBefore} new lines`);
  t.comment(`RSS +${Math.round(grownKb / 1024)} MB; ${app.logs.length - logsBefore} log lines`);
});
