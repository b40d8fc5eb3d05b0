// Fault test: the Kubernetes order under load. A preStop `deputy terminate` (run inside the
// container's namespaces, not a child of PID 1) makes the app exit; PID 1 must not exit while the
// hook lives, or the kernel SIGKILLs the hook with the namespace (the kubelet's FailedPreStopHook).
// A hook status of 0 therefore proves the entrypoint exited after it. One run rarely hits the
// window, so each entrypoint runs the scenario RUNS times, a few at once, with both cores busy.
import t, { type Test } from 'tap';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { DEPUTY_BIN, FIXTURES, ROOT, pid1Unavailable, spawnChild, tempIpcDir, type Child } from '../helpers.js';

const RUNS = 50;
/** Scenarios in flight at once: more load on top of the busy loops, and a shorter run. */
const PARALLEL = 8;
/** Per entrypoint; far above the usual time, for a machine that other work also keeps busy. */
const ENTRYPOINT_TIMEOUT_MS = 200_000;
/** The busy loops end by themselves after this (and are killed by pid at teardown). */
const BUSY_LOOP_MS = ENTRYPOINT_TIMEOUT_MS;
const STEP_TIMEOUT_MS = 30_000;

t.setTimeout(2 * ENTRYPOINT_TIMEOUT_MS + 20_000); // the file runs longer than the runner's default

const node = process.execPath;
/**
 * The processes this test starts run without the test runner's NODE_OPTIONS (its per-process
 * coverage hooks more than double a node process's start-up and exit).
 */
const PLAIN_NODE = { NODE_OPTIONS: '' };


const skip = pid1Unavailable();
const entrypoints = [
  { name: 'shim/supervise.sh', argv: [join(ROOT, 'shim', 'supervise.sh')] },
  { name: 'deputy supervise', argv: [node, DEPUTY_BIN, 'supervise', '--'] },
] as const;

/** One CPU-bound process per core, each bounded by BUSY_LOOP_MS. */
function busyCores(t: Test): void {
  for (let core = 0; core < Math.max(2, availableParallelism()); core += 1) {
    spawnChild(t, node, ['-e', `const end = Date.now() + ${BUSY_LOOP_MS}; while (Date.now() < end);`], PLAIN_NODE);
  }
}

/** The pid (seen from here) of the entrypoint that `unshare --fork` runs as the namespace's PID 1. */
function pid1Of(unshare: Child): number {
  const children = readFileSync(`/proc/${unshare.pid}/task/${unshare.pid}/children`, 'utf8').trim();
  if (!/^[0-9]+$/.test(children)) throw new Error(`unshare ${unshare.pid} has no single child (${JSON.stringify(children)})`);
  return Number(children);
}

/** Runs the scenario once; returns what went wrong, or undefined. */
async function preStopRun(t: Test, argv: readonly string[]): Promise<string | undefined> {
  const dir = tempIpcDir(t);
  const env = { ...PLAIN_NODE, DEPUTY_IPC_DIR: dir, EXIT_CODE: '0' };
  // --kill-child: if the test ends first, killing unshare (by pid, at teardown) ends the namespace.
  const app = spawnChild(t, 'unshare', ['--pid', '--fork', '--mount-proc', '--kill-child', ...argv, node, join(FIXTURES, 'terminator-app.js')], env);
  await app.waitForLog('registered', STEP_TIMEOUT_MS);
  // As the kubelet runs a preStop exec: inside the container's pid and mount namespaces.
  const hook = spawnChild(t, 'nsenter', ['--target', String(pid1Of(app)), '--pid', '--mount', '--', node, DEPUTY_BIN, 'terminate', '--timeout', '20s'], {
    ...PLAIN_NODE,
    DEPUTY_IPC_DIR: dir,
  });
  const [hookExit, appExit] = await Promise.all([hook.exited, app.exited]);
  if (!existsSync(dir)) return undefined; // removed at teardown: the test timed out
  const markers = readdirSync(dir).filter((name) => name.startsWith('deputy-prestop.'));
  const problems = [
    hookExit.status !== 0 && `hook exited ${hookExit.status}${hookExit.status === 137 ? ' (cut off by PID 1 exiting)' : ''}`,
    appExit.status !== 0 && `entrypoint exited ${appExit.status}`,
    markers.length > 0 && `markers left: ${markers.join(' ')}`,
  ].filter(Boolean);
  if (problems.length === 0) return undefined;
  const tail = (logs: readonly unknown[]): string => logs.slice(-6).map((r) => JSON.stringify(r)).join('\n    ');
  return `${problems.join('; ')}\n  entrypoint:\n    ${tail(app.logs)}\n  hook:\n    ${tail(hook.logs)}`;
}

for (const entry of entrypoints) {
  t.test(`${entry.name}: ${RUNS} preStop runs with both cores busy, every hook returns 0 before PID 1 exits`, { skip, timeout: ENTRYPOINT_TIMEOUT_MS }, async (t) => {
    busyCores(t);
    const started = Date.now();
    const failures: string[] = [];
    let next = 0;
    let done = 0;
    let ended = false; // at a timeout: start no more runs
    t.teardown(() => void (ended = true));
    const worker = async (): Promise<void> => {
      while (next < RUNS && !ended) {
        const run = next++;
        const failure = await preStopRun(t, entry.argv);
        if (failure !== undefined) failures.push(`run ${run}: ${failure}`);
        done += 1;
        if (done % 10 === 0) t.comment(`${done} of ${RUNS} runs done, ${failures.length} failed, ${Date.now() - started} ms`);
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, worker));
    t.comment(`${entry.name}: ${failures.length} of ${RUNS} failed in ${Date.now() - started} ms`);
    for (const failure of failures.slice(0, 3)) t.comment(failure);
    t.equal(failures.length, 0, `${failures.length} of ${RUNS} runs failed`);
  });
}
