// Whoever reaches the health port can probe as often as they like, and a runtime server error
// repeats while its cause lasts: neither may write a log line each time.
import t from 'tap';
import { Agent, request } from 'node:http';
import { spawnFixture } from '../helpers.js';
import { stderrBytes, suppressedCount, withMsg } from './fault-helpers.js';

const PROBES = 1000;
const MAX_LINES = 20;

/** GETs `path` `count` times over `parallel` keep-alive connections; resolves with the statuses seen. */
async function probe(port: number, path: string, count: number, parallel = 10): Promise<Set<number>> {
  const agent = new Agent({ keepAlive: true, maxSockets: parallel });
  const statuses = new Set<number>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next++ < count) {
      statuses.add(
        await new Promise<number>((resolve, reject) => {
          const req = request({ host: '127.0.0.1', port, path, agent, timeout: 10_000 }, (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          });
          req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out`)));
          req.on('error', reject);
          req.end();
        }),
      );
    }
  };
  try {
    await Promise.all(Array.from({ length: parallel }, worker));
  } finally {
    agent.destroy();
  }
  return statuses;
}

t.test(`${PROBES} probes of a probe source that throws: 500 each, at most ${MAX_LINES} log lines`, async (t) => {
  const app = spawnFixture(t, 'throwing-probe-app.js');
  const bytes = stderrBytes(app);
  const port = (await app.waitForLog('serving')).port as number;
  t.same([...(await probe(port, '/readyz', PROBES))], [500], 'every probe answered 500');
  app.send('exit');
  t.equal((await app.exited).status, 0);
  const logged = withMsg(app.logs, 'ready probe failed unexpectedly');
  t.ok(logged.length > 0 && logged.length <= 5, `the first few logged one by one (${logged.length})`);
  t.equal(logged.length + suppressedCount(app.logs, 'probe-failed'), PROBES, 'and the rest counted in a summary');
  t.ok(app.logs.length <= MAX_LINES, `stderr has ${app.logs.length} lines (at most ${MAX_LINES})`);
  t.comment(`${PROBES} failing probes: ${app.logs.length} stderr lines, ${bytes()} bytes`);
});

t.test('repeated runtime errors of the health server: logged a few times, then counted', async (t) => {
  const app = spawnFixture(t, 'deputy-app.js');
  await app.waitForLog('serving');
  for (let i = 0; i < 100; i++) app.send('server-error'); // 2 'error' events each
  await app.waitForLog(() => withMsg(app.logs, 'server error emitted').length === 100);
  app.send('shutdown'); // closes the health server, which writes the summary, and exits 0
  t.equal((await app.exited).status, 0);
  const logged = withMsg(app.logs, 'health server error');
  t.ok(logged.length > 0 && logged.length <= 5, `the first few logged one by one (${logged.length})`);
  t.equal(logged.length + suppressedCount(app.logs, 'health-server-error'), 200, 'and the rest counted in a summary');
});
