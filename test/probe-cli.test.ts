// `deputy probe`, the exec probe, as the kubelet runs it: exit 0 healthy, 1 unhealthy, 2
// unreachable or bad input, one line saying what was seen. Against the example worker (a queue
// consumer with its health server on 127.0.0.1 only) and plain HTTP/TCP peers.
import t from 'tap';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { ROOT, runDeputy, spawnChild, tempIpcDir } from './helpers.js';
import { listen } from './probe-http.js';
import { freePort } from './servers.js';

function listenTcp(server: TcpServer, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
  });
}

/** A line broker: sends jobs to whoever connects, records acks. */
function broker(): { server: TcpServer; sockets: Set<Socket>; acks: string[]; send(line: string): void; connected: Promise<void>; acked: Promise<void> } {
  const sockets = new Set<Socket>();
  const acks: string[] = [];
  let onConnection!: () => void;
  const connected = new Promise<void>((resolve) => (onConnection = resolve));
  let onAck!: () => void;
  // The ack and the worker's log line travel on different pipes: wait for the ack itself.
  const acked = new Promise<void>((resolve) => (onAck = resolve));
  const server = createTcpServer((socket) => {
    sockets.add(socket);
    onConnection();
    socket.setEncoding('utf8').on('data', (chunk: string) => {
      acks.push(...chunk.split('\n').filter(Boolean));
      if (acks.length > 0) onAck();
    });
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
  });
  return { server, sockets, acks, send: (line) => sockets.forEach((s) => s.write(`${line}\n`)), connected, acked };
}

t.test('a non-HTTP worker probed with deputy probe', async (t) => {
  const jobs = broker();
  const brokerPort = await listenTcp(jobs.server);
  t.teardown(() => {
    jobs.server.close();
    jobs.sockets.forEach((s) => s.destroy());
  });
  const ipcDir = tempIpcDir(t);
  const worker = spawnChild(t, process.execPath, [join(ROOT, 'examples', 'worker.js')], {
    BROKER_PORT: String(brokerPort),
    DEPUTY_HEALTH_CHECK_PORT: '0',
    DEPUTY_IPC_DIR: ipcDir,
  });
  const listening = await worker.waitForLog('health server listening');
  t.equal(listening.host, '127.0.0.1', 'the health server is bound to loopback only');
  const port = String(listening.port);
  await worker.waitForLog('broker connected');
  await jobs.connected; // the broker's side of the connection too, before it sends
  jobs.send('job 1 0');
  await worker.waitForLog((r) => r.msg === 'job done' && r.id === '1');
  await jobs.acked;
  t.same(jobs.acks, ['ack 1'], 'the worker consumes');

  for (const kind of ['--ready', '--live', '--startup']) {
    const result = await runDeputy(['probe', kind, '--port', port]);
    t.equal(result.status, 0, `${kind} healthy`);
    t.match(result.stdout, new RegExp(`^ok: http://127\\.0\\.0\\.1:${port}/(readyz|livez|startupz) answered 200 \\((ready|ok|started)\\)\\n$`));
  }
  const viaEnv = await runDeputy(['probe', '--ready'], { DEPUTY_HEALTH_CHECK_PORT: port });
  t.equal(viaEnv.status, 0, 'port from DEPUTY_HEALTH_CHECK_PORT');
  const positional = await runDeputy(['probe', 'ready'], { DEPUTY_HEALTH_CHECK_PORT: port });
  t.same([positional.status, positional.stdout], [0, viaEnv.stdout], 'deputy probe ready is deputy probe --ready');

  const external = Object.values(networkInterfaces())
    .flat()
    .find((address) => address && address.family === 'IPv4' && !address.internal);
  if (external) {
    const outside = await runDeputy(['probe', '--ready', '--host', external.address, '--port', port]);
    t.equal(outside.status, 2, `not reachable on ${external.address}, only on loopback`);
  } else {
    t.comment('no non-loopback IPv4 interface: reachability from outside not checked');
  }

  // The broker goes away (and stays away): readiness fails with the reason, liveness does not.
  await new Promise<void>((resolve) => {
    jobs.server.close(() => resolve());
    jobs.sockets.forEach((s) => s.destroy());
  });
  await worker.waitForLog('broker disconnected; reconnecting');
  const notReady = await runDeputy(['probe', '--ready', '--port', port]);
  t.equal(notReady.status, 1, 'unhealthy while the broker is down');
  t.equal(notReady.stdout, `unhealthy: http://127.0.0.1:${port}/readyz answered 503 (not_ready: broker:disconnected)\n`);
  const quiet = await runDeputy(['probe', '--ready', '-q', '--port', port]);
  t.same([quiet.status, quiet.stdout, quiet.stderr], [1, '', ''], '-q prints nothing');
  t.equal((await runDeputy(['probe', '--live', '--port', port])).status, 0, 'liveness stays green');

  // The broker is back on the same port: the worker reconnects and is ready again.
  const reconnected = worker.logs.filter((r) => r.msg === 'broker connected').length + 1;
  await listenTcp(jobs.server, brokerPort);
  await worker.waitForLog(() => worker.logs.filter((r) => r.msg === 'broker connected').length >= reconnected);
  t.equal((await runDeputy(['probe', '--ready', '--port', port])).status, 0, 'ready again');

  const stopped = await runDeputy(['terminate', '--timeout', '10s'], { DEPUTY_IPC_DIR: ipcDir });
  t.equal(stopped.status, 0, 'deputy terminate stops the worker');
  t.equal((await worker.exited).status, 0, 'the worker exits 0 after stopping its consumer');
  t.ok(worker.logs.some((r) => r.msg === 'consumer stopped'));
});

t.test('deputy probe --url: status endpoints that always answer 200', async (t) => {
  const server = createHttpServer((req, res) => {
    if (req.url === '/connectors/sink/status') res.end('{"name":"sink","connector":{"state":"RUNNING"}}');
    else if (req.url === '/connectors/broken/status') res.end('{"name":"broken","connector":{"state":"FAILED"}}');
    else if (req.url === '/empty') res.writeHead(204).end();
    else if (req.url === '/slow') return; // never answers
    else res.writeHead(404).end('no such connector');
  });
  const base = `http://127.0.0.1:${await listen(t, server)}`;
  const probe = (...args: string[]) => runDeputy(['probe', ...args]);

  let result = await probe('--url', `${base}/connectors/sink/status`, '--expect-body', '"state":"RUNNING"');
  t.same([result.status, result.stdout], [0, `ok: ${base}/connectors/sink/status answered 200\n`]);
  result = await probe('--url', `${base}/connectors/broken/status`, '--expect-body', 'RUNNING');
  t.same([result.status, result.stdout], [1, `unhealthy: ${base}/connectors/broken/status answered 200 but its body does not match /RUNNING/\n`]);
  result = await probe('--url', `${base}/empty`, '--expect-status', '204');
  t.equal(result.status, 0, 'expected status');
  result = await probe('--url', `${base}/connectors/sink/status`, '--expect-status', '204');
  t.same([result.status, result.stdout], [1, `unhealthy: ${base}/connectors/sink/status answered 200, expected 204\n`]);
  result = await probe('--url', `${base}/nope`);
  t.same([result.status, result.stdout], [1, `unhealthy: ${base}/nope answered 404\n`], 'non-2xx is unhealthy by default');
  result = await probe('--url', `${base}/slow`, '--timeout', '300ms');
  t.same([result.status, result.stdout], [1, `unhealthy: ${base}/slow did not answer within 300 ms\n`], 'connected but silent: unhealthy');
});

t.test('deputy probe: unreachable, non-HTTP peers and bad input exit 2 with one clear line', async (t) => {
  const deadPort = String(await freePort());
  let result = await runDeputy(['probe', '--ready', '--port', deadPort]);
  t.equal(result.status, 2, 'connection refused');
  t.match(result.stderr, new RegExp(`^deputy probe: cannot reach http://127\\.0\\.0\\.1:${deadPort}/readyz \\(connect ECONNREFUSED[^\\n]*\\n$`));
  t.equal(result.stdout, '');

  const ssh = createTcpServer((socket) => socket.end('SSH-2.0-OpenSSH_9.2\r\n'));
  const hangUp = createTcpServer((socket) => socket.destroy());
  t.teardown(() => {
    ssh.close();
    hangUp.close();
  });
  for (const [name, server] of [['SSH banner', ssh], ['hang-up', hangUp]] as const) {
    result = await runDeputy(['probe', '--live', '--port', String(await listenTcp(server))]);
    t.equal(result.status, 2, `${name}: exit 2`);
    t.match(result.stderr, /^deputy probe: 127\.0\.0\.1:\d+ did not answer HTTP \(.+\): check that --host and --port point at the health server\n$/, `${name}: one line`);
  }

  const usage: Array<[string[], RegExp, NodeJS.ProcessEnv?]> = [
    [[], /say what to probe: --live, --ready, --startup or --url <url>/],
    [['--ready', '--live'], /use only one of --live, --ready, --startup or --url \(got --live and --ready\)/],
    [['--url', 'not a url'], /--url: "not a url" is not a valid URL/],
    [['--url', 'ftp://127.0.0.1/x'], /not an http: or https: URL/],
    [['--url', 'http://127.0.0.1:1/', '--port', '9'], /--host and --port do not apply with --url/],
    [['--url', 'http://127.0.0.1:1/', '--expect-body', '(unclosed'], /--expect-body: invalid regular expression "\(unclosed"/],
    [['--ready', '--port', '70000'], /a port is an integer from 1 to 65535/],
    [['--ready', '--timeout', 'soon'], /invalid duration "soon"/],
    [['--ready', '--host', 'bad host'], /--host: "bad host" is not a valid host name/],
    [['--url', 'http://127.0.0.1:1/', '--expect-status', '2xx'], /an HTTP status is a number from 100 to 599/],
    [['--ready'], /DEPUTY_HEALTH_CHECK_PORT="eighty" is not a TCP port/, { DEPUTY_HEALTH_CHECK_PORT: 'eighty' }],
    [['--ready', '--bogus'], /^deputy probe: unknown option '--bogus' \(run deputy probe --help for usage\)\n$/],
    [['healthy'], /^deputy probe: what to probe is live, ready or startup, not "healthy"\n$/],
    [['ready', 'live'], /^deputy probe: too many arguments \(ready live\)/],
    [['ready', '--live'], /use only one of --live, --ready, --startup or --url \(got --live and --ready\)/],
    [['--ready', '--timeout', '0'], /--timeout: must be longer than 0/],
  ];
  for (const [args, message, env] of usage) {
    result = await runDeputy(['probe', ...args], env);
    t.equal(result.status, 2, `${args.join(' ') || '(no target)'}: exit 2`);
    t.match(result.stderr, message);
  }
});

t.test('deputy probe asks $DEPUTY_HEALTH_CHECK_HOST by default; a wildcard means loopback', async (t) => {
  // 127.0.0.2 is loopback on Linux but not 127.0.0.1: a server bound there is unreachable on
  // the old default.
  const specific = createHttpServer((req, res) => res.end('{"status":"ready"}'));
  const port = await new Promise<number>((resolve, reject) => {
    specific.once('error', reject);
    specific.listen(0, '127.0.0.2', () => resolve((specific.address() as { port: number }).port));
  });
  t.teardown(() => specific.close());
  let result = await runDeputy(['probe', '--ready', '--port', String(port)], { DEPUTY_HEALTH_CHECK_HOST: '127.0.0.2' });
  t.same([result.status, result.stdout], [0, `ok: http://127.0.0.2:${port}/readyz answered 200 (ready)\n`], 'asks the bound address');
  result = await runDeputy(['probe', '--ready', '--port', String(port), '--host', '127.0.0.1'], { DEPUTY_HEALTH_CHECK_HOST: '127.0.0.2' });
  t.equal(result.status, 2, '--host wins over the variable');

  const everywhere = createHttpServer((req, res) => res.end('{"status":"ready"}'));
  const anyPort = await listen(t, everywhere);
  for (const host of ['0.0.0.0', '::', '']) {
    result = await runDeputy(['probe', '--ready', '--port', String(anyPort)], { DEPUTY_HEALTH_CHECK_HOST: host });
    t.same([result.status, result.stdout], [0, `ok: http://127.0.0.1:${anyPort}/readyz answered 200 (ready)\n`], `"${host}" means 127.0.0.1`);
  }
});

t.test('the full CLI (main) runs probe with the same semantics', async (t) => {
  // bin/deputy.js runs probe from its bundle (test/bundle.test.ts); main() is what other callers of the CLI use.
  const { main } = await import('../src/cli/main.js');
  const deadPort = String(await freePort());
  t.equal(await main(['probe', '--ready', '--port', deadPort, '-q']), 2, 'unreachable → 2');
  process.exitCode = undefined;
  t.equal(await main(['probe', '--ready', '--live']), 2, 'conflicting targets → 2');
  process.exitCode = undefined;
  t.equal(await main(['probe', 'ready', '--port', deadPort, '-q']), 2, 'positional kind → unreachable → 2');
  process.exitCode = undefined;
});

t.test('deputy probe --help documents the flags', async (t) => {
  const help = await runDeputy(['probe', '--help']);
  t.equal(help.status, 0);
  for (const flag of ['--live', '--ready', '--startup', '--url <url>', '--host', '--port', '--timeout', '--expect-status', '--expect-body', '-q, --quiet', 'DEPUTY_HEALTH_CHECK_PORT', 'DEPUTY_HEALTH_CHECK_HOST']) {
    t.match(help.stdout, flag);
  }
});
