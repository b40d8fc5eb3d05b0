// The HTTP load the throughput benchmarks share (bench/probes, bench/metrics, bench/load-checks):
// 32 keep-alive connections for `seconds`, with wrk when it is installed (one thread, so it takes
// one core), else autocannon in this process. Any non-2xx answer fails the run.
// With two cores or more and taskset, wrk runs on core 0 and the servers under load on core 1
// (`onServerCore`): unpinned, the scheduler now and then puts both on one core, and a run's
// throughput then measures that placement more than the server (rounds of the same server were
// seen 2x apart on a 2-core VM). autocannon runs in the benchmark's own process, unpinned.
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';

/** True when `command` is on PATH. */
export const has = (command) => spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;

/** Median of `values` (the upper one of an even count). */
export const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** What runs the load, for the report's heading. */
export const loadTool = () => (has('wrk') ? 'wrk -t1 -c32' : 'autocannon -c32');

const PINNED = availableParallelism() >= 2 && has('taskset');
const LOAD_CORE = 0;
const SERVER_CORE = 1;

/** `argv` (a command and its arguments) to run on the servers' core, when pinning is possible. */
export const onServerCore = (argv) => (PINNED ? ['taskset', '-c', String(SERVER_CORE), ...argv] : argv);

/** How the load and the servers share the cores, for the report's heading. */
export const placement = () => (PINNED && has('wrk') ? `wrk on core ${LOAD_CORE}, servers on core ${SERVER_CORE}` : 'unpinned');

/** Loads `url` for `seconds`: requests per second and requests answered. */
export async function throughput(url, seconds) {
  if (has('wrk')) {
    const wrk = ['wrk', '-t1', '-c32', `-d${seconds}s`, url];
    const argv = PINNED ? ['taskset', '-c', String(LOAD_CORE), ...wrk] : wrk;
    const out = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', timeout: (seconds + 30) * 1000 });
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
