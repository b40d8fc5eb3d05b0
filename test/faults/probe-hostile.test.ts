// `deputy probe` and shim/probe.sh against hostile peers on free loopback ports: a 100 MB body,
// an endless chunked body, silence, random bytes, an SSH banner, a redirect loop, headers that
// drip or never end. Each probe must exit with its documented status (0 healthy, 1 unhealthy or
// no answer in time, 2 unreachable or not HTTP) within its timeout plus a small margin, measured
// from the moment the server accepted it (so Node's start-up on a busy machine does not count),
// print one line, and keep its memory bounded (no buffering of a 100 MB body).
import t, { type Test } from 'tap';
import type { Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { DEPUTY_BIN, ROOT } from '../helpers.js';
import { hostileServer, outputLines, runWatched, type Hostile, type Watched } from './abuse.js';

const PROBE_SH = join(ROOT, 'shim', 'probe.sh');
const TIMEOUT_MS = 1000;
/**
 * After the probe's own timeout: its exit, plus however long the same probe took from accept to
 * exit against a well-behaved server (which grows with the machine's load).
 */
const MARGIN_MS = 700;
/** Over the same probe's peak against a well-behaved server: far below a buffered 100 MB body. */
const MEMORY_SLACK_KB = 48 * 1024;

const HUGE_BODY_BYTES = 100 * 1024 * 1024;

/** Writes `chunk` until `total` bytes are out or the peer goes, honouring backpressure. */
function pour(socket: Socket, chunk: Buffer, total = Infinity): void {
  let sent = 0;
  const more = (): void => {
    while (sent < total && !socket.destroyed) {
      sent += chunk.length;
      if (!socket.write(chunk)) return void socket.once('drain', more);
    }
    if (!socket.destroyed) socket.end();
  };
  more();
}

/** Sends `text` one byte every `everyMs` until the peer goes. */
function drip(socket: Socket, text: () => string, everyMs: number): void {
  const timer = setInterval(() => (socket.destroyed ? clearInterval(timer) : socket.write(text())), everyMs);
  socket.on('close', () => clearInterval(timer));
}

type Behaviour = (socket: Socket) => void;
const onRequest = (answer: Behaviour): Behaviour => (socket) => socket.once('data', () => answer(socket));

const BEHAVIOURS: Record<string, Behaviour> = {
  healthy: onRequest((s) => s.end('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 15\r\nconnection: close\r\n\r\n{"status":"ok"}')),
  'a 100 MB body': onRequest((s) => {
    s.write(`HTTP/1.1 200 OK\r\ncontent-length: ${HUGE_BODY_BYTES}\r\n\r\n`);
    pour(s, Buffer.alloc(1024 * 1024, 'x'), HUGE_BODY_BYTES);
  }),
  'an endless chunked body': onRequest((s) => {
    s.write('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n');
    pour(s, Buffer.from(`4000\r\n${'x'.repeat(0x4000)}\r\n`));
  }),
  silence: () => {},
  'random bytes': (s) => s.end(randomBytes(4096)),
  'an SSH banner': (s) => s.write('SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n'),
  'a redirect loop': (s) => s.on('data', () => s.write('HTTP/1.1 302 Found\r\nlocation: /livez\r\ncontent-length: 0\r\n\r\n')),
  'headers dripping a byte at a time': onRequest((s) => {
    s.write('HTTP/1.1 200 OK\r\n');
    drip(s, () => 'x', 50);
  }),
  'header lines dripping forever': onRequest((s) => {
    s.write('HTTP/1.1 200 OK\r\n');
    let n = 0;
    drip(s, () => `x-drip-${n++}: y\r\n`, 100);
  }),
  'an endless header flood': onRequest((s) => {
    s.write('HTTP/1.1 200 OK\r\n');
    pour(s, Buffer.from(`x-flood: ${'y'.repeat(1000)}\r\n`));
  }),
};

interface Case {
  readonly server: string;
  /** The documented exit status. */
  readonly status: number;
  /** What the one line says. */
  readonly line: RegExp;
}

const DEPUTY_CASES: readonly Case[] = [
  { server: 'a 100 MB body', status: 0, line: /^ok: http:\/\/127\.0\.0\.1:\d+\/livez answered 200$/ },
  { server: 'an endless chunked body', status: 0, line: /^ok: .* answered 200$/ },
  { server: 'silence', status: 1, line: /^unhealthy: .* did not answer within 1000 ms$/ },
  { server: 'random bytes', status: 2, line: /^deputy probe: 127\.0\.0\.1:\d+ did not answer HTTP/ },
  { server: 'an SSH banner', status: 2, line: /^deputy probe: 127\.0\.0\.1:\d+ did not answer HTTP/ },
  { server: 'a redirect loop', status: 1, line: /^unhealthy: .* answered 302$/ },
  { server: 'headers dripping a byte at a time', status: 1, line: /did not answer within 1000 ms$/ },
  { server: 'header lines dripping forever', status: 1, line: /did not answer within 1000 ms$/ },
  { server: 'an endless header flood', status: 2, line: /did not answer HTTP/ },
];

const SH_CASES: readonly Case[] = [
  { server: 'a 100 MB body', status: 0, line: /^live: healthy: 200 x{100,1024}$/ },
  { server: 'an endless chunked body', status: 0, line: /^live: healthy: 200 4000x{100,1020}$/ },
  { server: 'silence', status: 1, line: /^live: unhealthy: no answer within 1s/ },
  { server: 'random bytes', status: 2, line: /^live: unreachable: not an HTTP answer/ },
  { server: 'an SSH banner', status: 2, line: /^live: unreachable: not an HTTP answer/ },
  { server: 'a redirect loop', status: 1, line: /^live: unhealthy: 302/ },
  { server: 'headers dripping a byte at a time', status: 1, line: /^live: unhealthy: no answer within 1s/ },
  { server: 'header lines dripping forever', status: 1, line: /^live: unhealthy: no answer within 1s/ },
  { server: 'an endless header flood', status: 2, line: /^live: unreachable: not an HTTP answer/ },
];

type Prober = (port: number) => [string, string[], NodeJS.ProcessEnv];
const deputyProbe: Prober = (port) => [process.execPath, [DEPUTY_BIN, 'probe', '--live', '--port', String(port), '--timeout', `${TIMEOUT_MS}ms`], {}];
const shellProbe: Prober = (port) => [PROBE_SH, ['live', String(port)], { DEPUTY_PROBE_TIMEOUT: String(TIMEOUT_MS / 1000) }];

async function probeOnce(t: Test, server: Hostile, prober: Prober): Promise<Watched & { afterAcceptMs: number }> {
  const [command, args, env] = prober(server.port);
  const seen = server.acceptedAt.length;
  const run = await runWatched(t, command, args, env, 20_000);
  const acceptedAt = server.acceptedAt[seen];
  return { ...run, afterAcceptMs: acceptedAt === undefined ? NaN : run.exitedAt - acceptedAt };
}

async function hostileSuite(t: Test, name: string, prober: Prober, cases: readonly Case[]): Promise<void> {
  const servers = new Map<string, Hostile>();
  for (const [behaviour, onConnection] of Object.entries(BEHAVIOURS)) servers.set(behaviour, await hostileServer(t, onConnection));
  const baseline = await probeOnce(t, servers.get('healthy')!, prober);
  t.equal(baseline.status, 0, `${name} against a well-behaved server: healthy`);
  t.comment(`${name} against a well-behaved server: exit ${baseline.status} ${baseline.afterAcceptMs} ms after accept, peak RSS ${Math.round(baseline.peakRssKb / 1024)} MB`);
  // Two at a time: the silent and dripping peers cost wall time, not CPU.
  const queue = [...cases];
  const results = new Map<string, Watched & { afterAcceptMs: number }>();
  const worker = async (): Promise<void> => {
    for (let next = queue.shift(); next; next = queue.shift()) results.set(next.server, await probeOnce(t, servers.get(next.server)!, prober));
  };
  await Promise.all([worker(), worker()]);
  for (const { server, status, line } of cases) {
    const run = results.get(server)!;
    const lines = outputLines(run);
    t.equal(run.status, status, `${name} vs ${server}: exit ${status}`);
    t.equal(lines.length, 1, `${name} vs ${server}: one line (${JSON.stringify(lines.map((l) => l.slice(0, 120)))})`);
    t.match(lines[0] ?? '', line, `${name} vs ${server}: says what it saw`);
    const boundMs = TIMEOUT_MS + MARGIN_MS + baseline.afterAcceptMs;
    t.ok(run.afterAcceptMs <= boundMs, `${name} vs ${server}: exits ${run.afterAcceptMs} ms after the server accepted it (≤ ${boundMs})`);
    t.ok(
      run.peakRssKb <= baseline.peakRssKb + MEMORY_SLACK_KB,
      `${name} vs ${server}: peak RSS ${Math.round(run.peakRssKb / 1024)} MB (well-behaved: ${Math.round(baseline.peakRssKb / 1024)} MB)`,
    );
    t.comment(`${name} vs ${server}: exit ${run.status} after ${run.afterAcceptMs} ms, peak RSS ${Math.round(run.peakRssKb / 1024)} MB`);
  }
}

t.test('deputy probe against hostile servers', (t) => hostileSuite(t, 'deputy probe', deputyProbe, DEPUTY_CASES));
t.test('shim/probe.sh against hostile servers', (t) => hostileSuite(t, 'probe.sh', shellProbe, SH_CASES));
