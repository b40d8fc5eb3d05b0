// Keep-alive load from three client kinds, each counting every request and every failure
// (reset, refused, socket hang up, timeout, non-2xx):
// - undici Pool (honours the server's Keep-Alive hint, minus 2 s);
// - node:http Agent with keepAlive (honours the hint, minus 1 s);
// - autocannon (its own HTTP/1.1 client: keeps connections open, reconnects when the server
//   closes; it ignores the Keep-Alive hint and `Connection: close`, sending its next request on
//   the same connection at once — requests written after the server's close are counted as
//   "unanswered").
// Plus a trickle of one-request connections (no keep-alive, ~50 per second), as from short-lived
// clients: new connections keep arriving, so a replica that stops listening before its endpoint
// is removed gets some of them refused.
// The undici and Agent workers now and then pause for up to `idleMaxMs`, so that some sockets
// sit idle in the pools when a replica is terminated — the case where naive draining races.
import http from 'node:http';
import autocannon from 'autocannon';
import { Pool } from 'undici';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function tally() {
  return { requests: 0, failed: 0, reasons: {} };
}

function fail(t, reason) {
  t.failed += 1;
  t.reasons[reason] = (t.reasons[reason] ?? 0) + 1;
}

async function worker(stop, once, idleMaxMs, t) {
  while (!stop.stopped) {
    t.requests += 1;
    try {
      const status = await once();
      if (status < 200 || status > 299) fail(t, `status ${status}`);
    } catch (error) {
      fail(t, error.code ?? error.message);
    }
    if (idleMaxMs > 0 && Math.random() < 0.01) await sleep(Math.random() * idleMaxMs);
  }
}

/** Starts the load against `port`; `stop()` ends it and resolves with the counts per client. */
export function startLoad(port, { connections = 8, idleMaxMs = 2500 } = {}) {
  const stop = { stopped: false };
  const origin = `http://127.0.0.1:${port}`;

  const undiciTally = tally();
  const pool = new Pool(origin, { connections, headersTimeout: 10_000, bodyTimeout: 10_000 });
  const undiciOnce = async () => {
    const { statusCode, body } = await pool.request({ path: '/', method: 'GET' });
    await body.text();
    return statusCode;
  };

  const agentTally = tally();
  // Configured like Node's global agent (keepAlive, timeout 5 s): only with a `timeout` does an
  // Agent apply the server's Keep-Alive hint; a bare `new Agent({ keepAlive: true })` ignores it.
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections, timeout: 5000 });
  const agentOnce = () =>
    new Promise((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/', agent, timeout: 10_000 }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
      req.on('error', reject);
    });

  const workers = [];
  for (let i = 0; i < connections; i++) {
    workers.push(worker(stop, undiciOnce, idleMaxMs, undiciTally));
    workers.push(worker(stop, agentOnce, idleMaxMs, agentTally));
  }

  const freshTally = tally();
  const freshOnce = () =>
    new Promise((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 10_000 }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
      req.on('error', reject);
    });
  workers.push(
    (async () => {
      while (!stop.stopped) {
        freshTally.requests += 1;
        try {
          const status = await freshOnce();
          if (status < 200 || status > 299) fail(freshTally, `status ${status}`);
        } catch (error) {
          fail(freshTally, error.code ?? error.message);
        }
        await sleep(20);
      }
    })(),
  );

  const cannonTally = tally();
  const cannon = autocannon({ url: origin, connections, duration: 3600, timeout: 10 });
  cannon.on('response', (client, statusCode) => {
    cannonTally.requests += 1;
    if (statusCode < 200 || statusCode > 299) fail(cannonTally, `status ${statusCode}`);
  });
  cannon.on('reqError', (error) => {
    cannonTally.requests += 1;
    fail(cannonTally, error.code ?? error.message);
  });
  const cannonDone = new Promise((resolve) => cannon.once('done', resolve));

  return async () => {
    stop.stopped = true;
    cannon.stop();
    await Promise.all(workers);
    const result = await cannonDone;
    // Requests autocannon wrote but never saw answered nor failed (beyond the one per connection
    // still in flight at stop): written on a connection the server had already closed.
    const lost = Math.max(0, result.totalRequests - cannonTally.requests - connections);
    if (lost > 0) {
      cannonTally.requests += lost;
      cannonTally.failed += lost;
      cannonTally.reasons['unanswered'] = lost;
    }
    await pool.close();
    agent.destroy();
    return { undici: undiciTally, agent: agentTally, autocannon: cannonTally, 'new-conn': freshTally };
  };
}
