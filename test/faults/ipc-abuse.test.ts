// The IPC directory under abuse: deleted while an app and a supervisor run, and an entrypoint pid
// file that is junk, huge, negative, some other process's pid, a directory, a FIFO or a symlink to
// /dev/zero. What must hold: the app keeps serving and shuts down normally on SIGTERM; `deputy
// terminate` exits 1 with one line naming the pid file, in bounded time and memory (it must never
// read /dev/zero to its end or block on a FIFO); `deputy supervise` falls back to signalling its
// child and exits with the child's status.
import t, { type Test } from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { DEPUTY_BIN, FIXTURES, ROOT, killTree, spawnChild, tempIpcDir } from '../helpers.js';
import { get } from '../probe-http.js';
import { exitWithin, outputLines, runWatched, waitUntil } from './abuse.js';

const NODE = process.execPath;
const PID_FILE = 'deputy-entrypoint.pid';

t.test('the IPC directory deleted under a running app: it keeps serving, and SIGTERM still shuts it down', async (t) => {
  const dir = tempIpcDir(t);
  const app = spawnChild(t, NODE, [join(ROOT, 'examples', 'http-app.js')], {
    DEPUTY_IPC_DIR: dir,
    DEPUTY_HEALTH_CHECK_PORT: '0',
    DEPUTY_HEALTH_CHECK_HOST: '127.0.0.1',
    PORT: '0',
    KUBERNETES_SERVICE_HOST: '',
    DEPUTY_LOG_LEVEL: 'info',
  });
  const { port } = await app.waitForLog('health server listening');
  await app.waitForLog('ready');
  rmSync(dir, { recursive: true, force: true });
  t.same((await get(Number(port), '/livez')).json, { status: 'ok' }, 'still live after its socket and pid file vanished');
  t.equal((await get(Number(port), '/readyz')).status, 200, 'still ready');

  const sentAt = Date.now();
  app.process.kill('SIGTERM');
  const { status, afterMs } = await exitWithin(app, 5000, sentAt);
  t.equal(status, 0, 'the shutdown ran and exited 0');
  t.ok(app.logs.some((r) => r.msg === 'terminate requested; running the graceful terminator' && r.via === 'SIGTERM'), 'through its SIGTERM handler');
  t.ok(app.logs.some((r) => r.msg === 'http server drained; closing the rest of the app'), 'its shutdown handler ran');
  t.notOk(app.logs.some((r) => r.level === 'error' || r.level === 'fatal' || r.level === 'raw'), 'no error and no stray output');
  t.ok(app.logs.length <= 20, `a bounded log: ${app.logs.length} lines`);
  t.comment(`app exited ${afterMs} ms after SIGTERM, ${app.logs.length} log lines`);
});

t.test('the IPC directory deleted under deputy supervise: SIGTERM falls back to the signal, the child\'s status passes through', async (t) => {
  const dir = tempIpcDir(t);
  const supervised = spawnChild(t, NODE, [DEPUTY_BIN, 'supervise', '--timeout', '5s', '--', NODE, join(FIXTURES, 'terminator-app.js')], {
    DEPUTY_IPC_DIR: dir,
    EXIT_CODE: '42',
  });
  await supervised.waitForLog('registered');
  await supervised.waitForLog('graceful terminator listening'); // the supervisor's own socket is bound too
  rmSync(dir, { recursive: true, force: true });
  const sentAt = Date.now();
  supervised.process.kill('SIGTERM');
  const { status, afterMs } = await exitWithin(supervised, 4000, sentAt);
  t.equal(status, 42, 'the app\'s status');
  t.ok(supervised.logs.some((r) => r.msg === 'cannot send terminate; sending SIGTERM to the child instead'), 'fell back to the signal');
  t.ok(supervised.logs.some((r) => r.msg === 'callback ran'), 'the app\'s SIGTERM handler ran its callback');
  t.equal(supervised.logs.filter((r) => r.msg === 'supervisor exiting').length, 1, 'exits once');
  t.ok(supervised.logs.length <= 25, `a bounded log: ${supervised.logs.length} lines`);
  t.comment(`supervisor exited ${afterMs} ms after SIGTERM, ${supervised.logs.length} log lines`);
});

/** Ways to plant a bad entrypoint pid file in `dir`; each says what it is. */
function garbage(t: Test): Array<[string, (dir: string) => void]> {
  // A live process that never registered: its pid is valid, but nobody listens.
  const bystander = spawn('sleep', ['60'], { stdio: 'ignore' });
  t.teardown(() => killTree(bystander.pid!));
  return [
    ['binary junk', (dir) => writeFileSync(join(dir, PID_FILE), randomBytes(512))],
    ['a 20 MB file of digits', (dir) => writeFileSync(join(dir, PID_FILE), Buffer.alloc(20 * 1024 * 1024, '7'))],
    ['a negative pid', (dir) => writeFileSync(join(dir, PID_FILE), '-5\n')],
    ['the pid of a process that is not a deputy', (dir) => writeFileSync(join(dir, PID_FILE), `${bystander.pid}\n`)],
    ['a directory', (dir) => mkdirSync(join(dir, PID_FILE))],
    ['a FIFO nobody writes', (dir) => spawnSync('mkfifo', [join(dir, PID_FILE)])],
    ['a symlink to /dev/zero', (dir) => symlinkSync('/dev/zero', join(dir, PID_FILE))],
  ];
}

/** Runs `work` over `items`, `parallel` at a time. */
async function inParallel<T>(items: readonly T[], parallel: number, work: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  const worker = async (): Promise<void> => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await work(item);
  };
  await Promise.all(Array.from({ length: parallel }, worker));
}

t.test('deputy terminate with a bad pid file: exit 1, one line naming the file, bounded time and memory', async (t) => {
  await inParallel(garbage(t), 3, async ([what, plant]) => {
    const dir = tempIpcDir(t);
    plant(dir);
    const run = await runWatched(t, NODE, [DEPUTY_BIN, 'terminate', '--timeout', '2s'], { DEPUTY_IPC_DIR: dir }, 15_000);
    const lines = outputLines(run);
    t.equal(run.status, 1, `${what}: exit 1 (not a hang, not a crash)`);
    t.equal(lines.length, 1, `${what}: one line (${JSON.stringify(lines.map((line) => line.slice(0, 160)))})`);
    t.match(lines[0] ?? '', /^deputy terminate: /, `${what}: says who`);
    const expected = what.startsWith('the pid of') ? /no graceful-terminator socket for pid \d+/ : new RegExp(`pid file ${join(dir, PID_FILE)}`);
    t.match(lines[0] ?? '', expected, `${what}: names what is wrong`);
    // Mostly Node's start-up, which a busy 2-core machine stretches to seconds; a hang is killed at 15 s.
    t.ok(run.wallMs < 10_000, `${what}: done in ${run.wallMs} ms`);
    t.ok(run.peakRssKb < 160 * 1024, `${what}: peak RSS ${Math.round(run.peakRssKb / 1024)} MB`);
    t.comment(`deputy terminate, ${what}: exit ${run.status} in ${run.wallMs} ms, peak RSS ${Math.round(run.peakRssKb / 1024)} MB`);
  });
});

/** A child that says when it is ready and exits 0 on SIGTERM (a shell: cheaper to start than Node). */
const CHILD_EXITING_ON_SIGTERM = "trap 'echo got SIGTERM; exit 0' TERM; echo ready; while :; do sleep 0.05; done";

/** The two supervisors, and how each logs its fallback to the signal. */
const SUPERVISORS: ReadonlyArray<[string, (command: readonly string[]) => string[], (msg: string) => boolean]> = [
  ['deputy supervise', (command) => [NODE, DEPUTY_BIN, 'supervise', '--timeout', '5s', '--', ...command], (msg) => msg === 'cannot send terminate; sending SIGTERM to the child instead'],
  ['shim/supervise.sh', (command) => [join(ROOT, 'shim', 'supervise.sh'), ...command], (msg) => msg.endsWith('; sending SIGTERM to the child')],
];

for (const [name, commandLine, isFallback] of SUPERVISORS) {
  t.test(`${name} with a bad pid file: SIGTERM falls back to signalling the child`, async (t) => {
    await inParallel(garbage(t), 3, async ([what, plant]) => {
      const dir = tempIpcDir(t);
      const [command, ...args] = commandLine(['sh', '-c', CHILD_EXITING_ON_SIGTERM]);
      const supervised = spawnChild(t, command!, args, { DEPUTY_IPC_DIR: dir, DEPUTY_TIMEOUT: '5s' });
      await waitUntil(() => supervised.stdout.includes('ready'), 30_000, `${name}'s child to start`);
      plant(dir);
      const sentAt = Date.now();
      supervised.process.kill('SIGTERM');
      const { status, afterMs } = await exitWithin(supervised, 4000, sentAt);
      t.equal(status, 0, `${what}: the child's status (exited on its SIGTERM)`);
      const fallback = supervised.logs.find((r) => isFallback(String(r.msg)));
      t.ok(fallback, `${what}: fell back to the signal`);
      const longest = Math.max(...supervised.logs.map((r) => JSON.stringify(r).length));
      t.ok(longest < 1000, `${what}: short log lines (longest ${longest} characters)`);
      t.ok(supervised.stdout.includes('got SIGTERM'), `${what}: the child got SIGTERM`);
      t.ok(supervised.logs.length <= 15, `${what}: a bounded log (${supervised.logs.length} lines)`);
      t.comment(`${name}, ${what}: exit ${status} ${afterMs} ms after SIGTERM; ${String(fallback?.reason ?? fallback?.msg ?? '').slice(0, 120)}`);
    });
  });
}
