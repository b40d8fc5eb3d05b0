// The HTTP load the throughput benchmarks share (bench/probes, bench/metrics, bench/load-checks):
// 32 keep-alive connections for `seconds`, with wrk when it is installed (one thread, so it takes
// one core), else autocannon in this process. Any non-2xx answer fails the run.
import { spawnSync } from 'node:child_process';

/** True when `command` is on PATH. */
export const has = (command) => spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;

/** Median of `values` (the upper one of an even count). */
export const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** What runs the load, for the report's heading. */
export const loadTool = () => (has('wrk') ? 'wrk -t1 -c32' : 'autocannon -c32');

/** Loads `url` for `seconds`: requests per second and requests answered. */
export async function throughput(url, seconds) {
  if (has('wrk')) {
    const out = spawnSync('wrk', ['-t1', '-c32', `-d${seconds}s`, url], { encoding: 'utf8', timeout: (seconds + 30) * 1000 });
    const rps = /Requests\/sec:\s+([0-9.]+)/.exec(out.stdout);
    const requests = /(\d+) requests in/.exec(out.stdout);
    if (!rps || !requests) throw new Error(`wrk failed: ${out.stdout}${out.stderr}`);
    const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out.stdout);
    if (non2xx) throw new Error(`${url}: ${non2xx[1]} non-2xx answers`);
    return { rps: Number(rps[1]), requests: Number(requests[1]) };
  }
  const { default: autocannon } = await import('autocannon');
  const result = await autocannon({ url, connections: 32, duration: seconds });
  if (result.non2xx > 0) throw new Error(`${url}: ${result.non2xx} non-2xx answers`);
  return { rps: result.requests.average, requests: result.requests.total };
}
