// One black-box suite for every entrypoint that claims the supervisor contract: each case runs the
// entrypoint as a real PID 1 (`unshare --pid --fork --mount-proc`), signals it by its host pid and
// checks what the child saw and the exit status.
import t, { type Test } from 'tap';
import { chmodSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import unix from 'unix-dgram';
import { DEPUTY_BIN, FIXTURES, ROOT, pid1Unavailable, spawnChild, tempIpcDir, type Child } from './helpers.js';
import { signalCases } from './conformance-signals.js';

interface Entrypoint {
  readonly name: string;
  /** The command line before the child's command. */
  readonly argv: readonly string[];
  /** Why the variant cannot run here, or undefined. */
  readonly skip: string | undefined;
}

const SIGNAL_NUMBERS = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGUSR1: 10, SIGTERM: 15 } as const;


const noNamespace = pid1Unavailable();
const entrypoints: Entrypoint[] = [
  { name: 'shim/supervise.sh', argv: [join(ROOT, 'shim', 'supervise.sh')], skip: noNamespace },
  {
    name: 'deputy supervise',
    argv: [process.execPath, DEPUTY_BIN, 'supervise', '--'],
    skip: noNamespace,
  },
];

const node = process.execPath;
const fixture = (name: string): string => join(FIXTURES, name);

/** The entrypoint as PID 1 of a new pid namespace; `hostPid` is its pid as seen from here. */
interface Pid1 extends Child {
  hostPid(): number;
  signal(signal: NodeJS.Signals): void;
}

function startAsPid1(t: Test, entry: Entrypoint, command: readonly string[], env: NodeJS.ProcessEnv = {}): Pid1 {
  // --kill-child: when unshare goes (teardown kills it by pid), the namespace's PID 1 goes too.
  const child = spawnChild(t, 'unshare', ['--pid', '--fork', '--mount-proc', '--kill-child', ...entry.argv, ...command], env);
  const hostPid = (): number => {
    const children = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim();
    if (!/^[0-9]+$/.test(children)) throw new Error(`unshare ${child.pid} has no single child (${JSON.stringify(children)})`);
    return Number(children);
  };
  return { ...child, hostPid, signal: (signal) => void process.kill(hostPid(), signal) };
}

/** Runs a command under the entrypoint to completion. */
async function runAsPid1(t: Test, entry: Entrypoint, command: readonly string[], env: NodeJS.ProcessEnv = {}) {
  const child = startAsPid1(t, entry, command, env);
  const { status } = await child.exited;
  return { status, logs: child.logs, stdout: child.stdout };
}

const viaOf = (child: Child) => child.logs.find((r) => r.msg === 'terminate requested; running the graceful terminator')?.via;

for (const entry of entrypoints) {
  t.test(entry.name, { skip: entry.skip, timeout: 60_000 }, async (t) => {
    if (entry.skip === undefined) t.comment(`running as PID 1: ${entry.argv.join(' ')}`);

    t.test('exit status N passes through', async (t) => {
      for (const code of [0, 1, 2, 3, 42, 100, 126, 127, 128, 143, 200, 255]) {
        const { status } = await runAsPid1(t, entry, ['sh', '-c', `exit ${code}`]);
        t.equal(status, code, `exit ${code}`);
      }
    });

    t.test('child killed by signal S → 128+S', async (t) => {
      for (const [signal, number] of Object.entries(SIGNAL_NUMBERS)) {
        const { status } = await runAsPid1(t, entry, ['sh', '-c', `kill -${signal.slice(3)} $$`]);
        t.equal(status, 128 + number, signal);
      }
    });

    t.test('exec failure: 127 not found, 126 not executable, naming the command', async (t) => {
      const missing = await runAsPid1(t, entry, ['no-such-command-for-deputy']);
      t.equal(missing.status, 127);
      t.ok(missing.logs.some((r) => String(r.msg).includes('no-such-command-for-deputy')), 'a log line names the command');
      const file = join(tempIpcDir(t), 'not-executable');
      writeFileSync(file, '#!/bin/sh\nexit 0\n');
      chmodSync(file, 0o644);
      const denied = await runAsPid1(t, entry, [file]);
      t.equal(denied.status, 126);
      t.ok(denied.logs.some((r) => String(r.msg).includes(file)), 'a log line names the file');
      // Found on PATH but not executable: 126 as bash and execvp say, not "not found".
      const onPath = await runAsPid1(t, entry, ['not-executable'], { PATH: `${join(file, '..')}:${process.env.PATH ?? ''}` });
      t.equal(onPath.status, 126, 'a non-executable match on PATH');
    });

    t.test('the child keeps the caller’s working directory and environment', async (t) => {
      const result = await runAsPid1(t, entry, [node, fixture('signals-app.js')], { PRINT: 'cwd-env', PROBE_VALUE: 'kept 42' });
      t.equal(result.status, 0);
      t.same(result.stdout, [process.cwd(), 'kept 42']);
    });

    t.test('SIGTERM sends terminate over the socket of the pid in the pid file', async (t) => {
      const dir = tempIpcDir(t);
      const app = startAsPid1(t, entry, [node, fixture('terminator-app.js')], { DEPUTY_IPC_DIR: dir, EXIT_CODE: '7' });
      await app.waitForLog('registered');
      app.signal('SIGTERM');
      t.equal((await app.exited).status, 7, 'the app’s exit status');
      t.equal(viaOf(app), 'socket', 'the app heard terminate on its socket, not a signal');
    });

    t.test('SIGINT sends terminate too', async (t) => {
      const dir = tempIpcDir(t);
      const app = startAsPid1(t, entry, [node, fixture('terminator-app.js')], { DEPUTY_IPC_DIR: dir, EXIT_CODE: '0' });
      await app.waitForLog('registered');
      app.signal('SIGINT');
      t.equal((await app.exited).status, 0);
      t.equal(viaOf(app), 'socket');
    });

    t.test('the pid file is read when the signal comes, and may name a grandchild', async (t) => {
      const dir = tempIpcDir(t);
      // The app registers only after "go" (long after start-up) and runs under a shell, so the
      // pid file names a process that is not the entrypoint's child.
      const app = startAsPid1(t, entry, ['sh', '-c', `"${node}" "${fixture('terminator-app.js')}"; exit $?`], {
        DEPUTY_IPC_DIR: dir,
        WAIT_FOR_GO: '1',
        EXIT_CODE: '5',
      });
      await app.waitForLog('waiting for go');
      app.send('go');
      await app.waitForLog('registered');
      app.signal('SIGTERM');
      t.equal((await app.exited).status, 5);
      t.equal(viaOf(app), 'socket');
    });

    t.test('no pid file: the signal itself goes to the child', async (t) => {
      const dir = tempIpcDir(t);
      const app = startAsPid1(t, entry, [node, fixture('signals-app.js')], { DEPUTY_IPC_DIR: dir, ON_TERM: 'exit:4' });
      await app.waitForLog('ready');
      app.signal('SIGTERM');
      t.equal((await app.exited).status, 4);
      t.ok(app.logs.some((r) => r.msg === 'got SIGTERM'), 'the child got SIGTERM');
    });

    t.test('a stale socket: the send fails and the signal goes to the child', async (t) => {
      const dir = tempIpcDir(t);
      const stalePid = 4_000_000;
      const stale = unix.createSocket('unix_dgram');
      stale.bind(join(dir, `graceful-terminator.${stalePid}.socket`));
      stale.close();
      writeFileSync(join(dir, 'deputy-entrypoint.pid'), `${stalePid}\n`);
      const app = startAsPid1(t, entry, [node, fixture('signals-app.js')], { DEPUTY_IPC_DIR: dir, ON_TERM: 'exit:6' });
      await app.waitForLog('ready');
      app.signal('SIGINT');
      t.equal((await app.exited).status, 6);
      t.ok(app.logs.some((r) => r.msg === 'got SIGINT'), 'the child got SIGINT');
    });

    t.test('DEPUTY_TIMEOUT after termination began: SIGKILL and DEPUTY_TIMEOUT_EXIT_CODE', async (t) => {
      const dir = tempIpcDir(t);
      const app = startAsPid1(t, entry, [node, fixture('terminator-app.js')], { DEPUTY_IPC_DIR: dir, KEEP_ALIVE: '1', DEPUTY_TIMEOUT: '300ms' });
      await app.waitForLog('registered');
      app.signal('SIGTERM');
      await app.waitForLog('callback ran');
      t.equal((await app.exited).status, 137, 'default 137');

      const custom = startAsPid1(t, entry, [node, fixture('signals-app.js')], {
        DEPUTY_IPC_DIR: dir,
        ON_TERM: 'ignore',
        DEPUTY_TIMEOUT: '0.2s',
        DEPUTY_TIMEOUT_EXIT_CODE: '99',
      });
      await custom.waitForLog('ready');
      custom.signal('SIGTERM');
      await custom.waitForLog('got SIGTERM');
      t.equal((await custom.exited).status, 99, 'DEPUTY_TIMEOUT_EXIT_CODE');
    });

    t.test('other signals reach the child', async (t) => {
      const app = startAsPid1(t, entry, [node, fixture('signals-app.js')], { DEPUTY_IPC_DIR: tempIpcDir(t) });
      await app.waitForLog('ready');
      for (const signal of ['SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGALRM', 'SIGWINCH'] as const) {
        app.signal(signal);
        await app.waitForLog(`got ${signal}`);
        t.pass(`${signal} forwarded`);
      }
      app.signal('SIGTERM');
      t.equal((await app.exited).status, 0);
    });

    t.test('orphans re-parented to PID 1 are reaped', async (t) => {
      const app = startAsPid1(t, entry, [node, fixture('signals-app.js')], { SPAWN: 'orphans:50', DEPUTY_IPC_DIR: tempIpcDir(t) });
      const outcome = await app.waitForLog((r) => r.msg === 'orphans gone' || r.msg === 'orphans left', 15_000);
      t.equal(outcome.msg, 'orphans gone', JSON.stringify(outcome.left ?? []));
      app.signal('SIGTERM');
      t.equal((await app.exited).status, 0);
    });

    t.test('Kubernetes order: a preStop deputy terminate returns 0 before PID 1 exits', async (t) => {
      const dir = tempIpcDir(t);
      const app = startAsPid1(t, entry, [node, fixture('terminator-app.js')], { DEPUTY_IPC_DIR: dir, EXIT_CODE: '0' });
      await app.waitForLog('registered');
      // As the kubelet runs a preStop exec: inside the container's namespaces, not PID 1's child.
      const hook = spawnChild(t, 'nsenter', ['--target', String(app.hostPid()), '--pid', '--mount', '--', node, DEPUTY_BIN, 'terminate', '--timeout', '10s'], {
        DEPUTY_IPC_DIR: dir,
      });
      const [hookExit, appExit] = await Promise.all([hook.exited, app.exited]);
      t.equal(hookExit.status, 0, 'the hook was not cut off by PID 1 exiting');
      t.equal(appExit.status, 0);
      t.same(readdirSync(dir).filter((name) => name.startsWith('deputy-prestop.')), [], 'no marker left behind');
    });

    t.test('stale preStop markers from an earlier run do not hold the exit', async (t) => {
      const dir = tempIpcDir(t);
      for (let pid = 2; pid <= 40; pid += 1) writeFileSync(join(dir, `deputy-prestop.${pid}`), '999\n');
      const started = Date.now();
      const { status } = await runAsPid1(t, entry, ['sh', '-c', 'exit 3'], { DEPUTY_IPC_DIR: dir, DEPUTY_TIMEOUT: '3s' });
      t.equal(status, 3);
      t.ok(Date.now() - started < 2500, `no wait for a hook that is not there (${Date.now() - started} ms)`);
    });

    t.test('the child exits while a grandchild lives: exit with the child’s status at once', async (t) => {
      const { status } = await runAsPid1(t, entry, ['sh', '-c', 'sleep 60 & exit 4']);
      t.equal(status, 4);
    });
  });
}

// Stop signals and rewrites (test/conformance-signals.ts), with a time budget of their own.
for (const entry of entrypoints) {
  t.test(`${entry.name}: stop signals and rewrites`, { skip: entry.skip, timeout: 60_000 }, (t) =>
    signalCases(t, { start: (t, command, env) => startAsPid1(t, entry, command, env), run: (t, command, env) => runAsPid1(t, entry, command, env) }),
  );
}

t.test('the suite runs somewhere', async (t) => {
  if (noNamespace !== undefined && process.env.CI === 'true') t.fail(`conformance suite skipped in CI: ${noNamespace}`);
  else t.pass(noNamespace ?? 'namespaces available');
});
