// deputy supervise, black box: run as a real PID 1 under `unshare --pid --fork --mount-proc`,
// signalled from outside the namespace, its logs and exit status read as a user would.
import t from 'tap';
import type { Test } from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { constants } from 'node:os';
import { readdirSync, readFileSync, chmodSync, writeFileSync, mkdtempSync, rmSync, realpathSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spec, superviseOptions } from '../src/cli/supervise.js';
import { parseCommandLine } from '../src/cli/command.js';
import { childrenOf, readProcStat } from '../src/contract/proc.js';
import { DEPUTY_BIN, FIXTURES, UNSHARE, logIndex, pid1Unavailable as pid1UnavailableHere, runDeputy, spawnChild, tempIpcDir, waitForStdout, type Child, type LogRecord } from './helpers.js';

// --kill-child: should a test end before it found PID 1, killing unshare (by pid) ends the namespace.
const NODE = process.execPath;

/** A real PID 1 here, and nsenter to look inside its namespace. */
function pid1Unavailable(): string | undefined {
  const missing = pid1UnavailableHere();
  if (missing) return missing;
  const nsenter = spawnSync('nsenter', ['--version'], { encoding: 'utf8' });
  if (nsenter.error) return `nsenter is not available (${nsenter.error.message}); install util-linux`;
  return undefined;
}

const unavailable = pid1Unavailable();
const skip = unavailable ? `cannot run the supervisor as PID 1: ${unavailable}` : false;
if (unavailable && process.env.CI === 'true') t.fail(`${skip} (a skip is a failure when CI=true)`);

/** Process state letter (R, S, Z, …), or undefined when gone. */
const stateOf = (pid: number): string | undefined => readProcStat(pid)?.state;

interface Supervised extends Child {
  /** The supervisor's pid as seen from the test (outside its namespace). */
  readonly supervisorPid: number;
  readonly dir: string;
  kill(signal: NodeJS.Signals): void;
}

interface SuperviseOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** Run as PID 1 of a new PID namespace (default) or as a plain child. */
  readonly pid1?: boolean;
  readonly cwd?: string;
}

/** Starts `deputy supervise …args` and resolves once it has logged its start. */
async function supervise(t: Test, args: readonly string[], options: SuperviseOptions = {}): Promise<Supervised> {
  const { pid1 = true, cwd } = options;
  const dir = options.env?.DEPUTY_IPC_DIR ?? tempIpcDir(t);
  const env = { DEPUTY_IPC_DIR: dir, ...options.env };
  const command = [...(pid1 ? ['unshare', ...UNSHARE] : []), NODE, DEPUTY_BIN, 'supervise', ...args];
  const child =
    cwd === undefined
      ? spawnChild(t, command[0]!, command.slice(1), env)
      : spawnChild(t, '/bin/sh', ['-c', 'cd "$0" && exec "$@"', cwd, ...command], env);
  await child.waitForLog('supervisor started');
  // It has logged its start, so it ran; not finding it under unshare means it has already exited.
  const supervisorPid = pid1 ? (childrenOf(child.pid)[0] ?? 0) : child.pid;
  t.teardown(() => {
    try {
      if (supervisorPid !== 0) process.kill(supervisorPid, 'SIGKILL'); // as PID 1 this ends the whole namespace
    } catch {
      // exited
    }
  });
  const kill = (signal: NodeJS.Signals): void => {
    if (supervisorPid === 0) throw new Error(`the supervisor exited before the test could send ${signal}; logs: ${JSON.stringify(child.logs)}`);
    process.kill(supervisorPid, signal);
  };
  return { ...child, supervisorPid, dir, kill };
}

/** Runs `deputy terminate …` inside the supervisor's namespaces, as the kubelet runs a preStop exec. */
function preStop(t: Test, supervised: Supervised, args: readonly string[] = []): Child {
  return spawnChild(t, 'nsenter', ['--target', String(supervised.supervisorPid), '--pid', '--mount', '--', NODE, DEPUTY_BIN, 'terminate', ...args], {
    DEPUTY_IPC_DIR: supervised.dir,
  });
}

const fixture = (name: string): string => join(FIXTURES, name);
const msgIs = (msg: string, fields: Record<string, unknown> = {}) => (record: LogRecord) =>
  record.msg === msg && Object.entries(fields).every(([key, value]) => record[key] === value);

/** The statuses of `supervise -- sh -c 'exit N'` for each N, `parallel` at a time. */
async function exitStatuses(t: Test, codes: readonly number[], parallel: number): Promise<Map<number, number>> {
  const results = new Map<number, number>();
  const queue = [...codes];
  const worker = async (): Promise<void> => {
    for (let code = queue.shift(); code !== undefined; code = queue.shift()) {
      const status = await new Promise<number>((resolve) => {
        const child = spawn('unshare', [...UNSHARE, NODE, DEPUTY_BIN, 'supervise', '--', 'sh', '-c', `exit ${code}`], {
          stdio: 'ignore',
          env: { ...process.env, DEPUTY_LOG_LEVEL: 'silent' },
        });
        const pid = child.pid;
        // --kill-child: killing unshare (by pid) ends its namespace, should the test end first
        if (pid !== undefined)
          t.teardown(() => {
            if (child.exitCode !== null || child.signalCode !== null) return; // its pid may be reused
            try {
              process.kill(pid, 'SIGKILL');
            } catch {
              // exited, as it should have
            }
          });
        child.on('exit', (exitCode) => resolve(exitCode ?? -1));
      });
      results.set(code, status);
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return results;
}

// Each run starts a Node supervisor (≈ 0.1 s of CPU): all 256 statuses would cost half a minute of
// a shared 2-core machine, so the check covers every boundary (0-3, the exec-failure statuses,
// 128+N around SIGINT, SIGKILL and SIGTERM, the top) plus a spread of ordinary values.
const STATUSES = [0, 1, 2, 3, 7, 42, 63, 64, 99, 125, 126, 127, 128, 129, 130, 131, 136, 137, 138, 142, 143, 144, 192, 200, 254, 255];

t.test('the child\'s exit status passes through unchanged', { skip }, async (t) => {
  const statuses = await exitStatuses(t, STATUSES, 4);
  const wrong = STATUSES.filter((code) => statuses.get(code) !== code).map((code) => `${code}→${String(statuses.get(code))}`);
  t.same(wrong, [], `all ${STATUSES.length} statuses came out unchanged`);
});

t.test('a child killed by a signal gives 128+N', { skip }, async (t) => {
  for (const signal of ['SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGKILL'] as const) {
    const supervised = await supervise(t, ['--', 'sh', '-c', `kill -${signal.slice(3)} $$`]);
    const { status } = await supervised.exited;
    t.equal(status, 128 + constants.signals[signal], `${signal} → ${128 + constants.signals[signal]}`);
    t.ok(supervised.logs.find(msgIs('child exited', { signal })), 'the exit log names the signal');
  }
});

t.test('every catchable signal but the documented exceptions reaches the child', { skip }, async (t) => {
  const exceptions = new Set(['SIGKILL', 'SIGSTOP', 'SIGCHLD', 'SIGTTIN', 'SIGTTOU', 'SIGPIPE', 'SIGILL', 'SIGTRAP', 'SIGABRT', 'SIGBUS', 'SIGFPE', 'SIGSEGV', 'SIGSYS']);
  const termination = new Set(['SIGTERM', 'SIGINT']);
  // One name per number 1..31 (SIGIOT = SIGABRT, SIGPOLL = SIGIO are aliases).
  const byNumber = new Map<number, NodeJS.Signals>();
  for (const [name, number] of Object.entries(constants.signals) as Array<[NodeJS.Signals, number]>) {
    if (number >= 1 && number <= 31 && !byNumber.has(number)) byNumber.set(number, name);
  }
  const forwarded = [...byNumber.values()].filter((name) => !exceptions.has(name) && !termination.has(name));
  t.ok(forwarded.length >= 15, `${forwarded.length} signals to check`);
  const supervised = await supervise(t, ['--', NODE, fixture('signal-app.js')], { env: { SIGNALS: forwarded.join(',') } });
  await supervised.waitForLog(msgIs('ready'));
  for (const signal of forwarded) {
    supervised.kill(signal);
    await supervised.waitForLog(msgIs('got signal', { signal, role: 'child' }), 5000);
    t.pass(`${signal} reached the child`);
  }
  t.notOk(
    supervised.logs.some((record) => typeof record.msg === 'string' && record.msg.includes('Debugger listening')),
    'SIGUSR1 did not open the supervisor\'s inspector',
  );
  supervised.kill('SIGTERM');
  t.equal((await supervised.exited).status, 143, 'graceless child (no socket) killed by the SIGTERM it was sent');
  t.ok(supervised.logs.find(msgIs('terminate sent', { via: 'signal', signal: 'SIGTERM' })));
});

t.test('--process-group: a forwarded signal reaches the grandchild too', { skip }, async (t) => {
  const supervised = await supervise(t, ['--process-group', '--', NODE, fixture('signal-app.js')], {
    env: { SIGNALS: 'SIGHUP', SPAWN_CHILD: '1' },
  });
  await supervised.waitForLog(msgIs('ready', { role: 'grandchild' }));
  supervised.kill('SIGHUP');
  await supervised.waitForLog(msgIs('got signal', { signal: 'SIGHUP', role: 'child' }));
  await supervised.waitForLog(msgIs('got signal', { signal: 'SIGHUP', role: 'grandchild' }));
  t.pass('child and grandchild both got SIGHUP');
  supervised.kill('SIGTERM'); // graceless: both die of it (the group gets it too)
  t.equal((await supervised.exited).status, 143);
});

/** Zombie children of `pid`, seen from outside. */
const zombiesUnder = (pid: number): number[] => childrenOf(pid).filter((child) => stateOf(child) === 'Z');

/**
 * Orphans reaped according to the logs: the 'orphans reaped' debug records, plus the counts of
 * their rate-limit summaries (complete once the supervisor has exited).
 */
const reapedTotal = (logs: readonly LogRecord[]): number =>
  logs.reduce((total, record) => total + (record.msg === 'orphans reaped' || record.event === 'orphans-reaped' ? (record.count as number) : 0), 0);

/** Resolves once `condition()` holds, checked every 20 ms; rejects after `timeoutMs`. */
async function until(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Makes 100 orphans under the supervisor; all are reaped while it runs, and counted in its logs. */
async function orphansReaped(t: Test, supervised: Supervised, status: number): Promise<void> {
  await waitForStdout(supervised, 'orphans made: 100');
  t.not(supervised.supervisorPid, 0, 'the supervisor is running');
  // Every orphan exists by now (its parent subshell has exited): reaped, all that is left is the child.
  await until(() => childrenOf(supervised.supervisorPid).length === 1, 'the orphans are reaped');
  t.same(zombiesUnder(supervised.supervisorPid), [], 'no zombie among the supervisor\'s children');
  supervised.send('done');
  t.equal((await supervised.exited).status, status);
  t.equal(reapedTotal(supervised.logs), 100, 'the logs count 100 orphans reaped');
  t.ok(supervised.logs.filter((r) => r.msg === 'orphans reaped').length <= 5, 'at most 5 of them one by one, the rest in summaries');
}

t.test('as PID 1, 100 orphans leave no zombie behind', { skip }, async (t) => {
  const supervised = await supervise(t, ['--', fixture('orphan-maker.sh'), '100', '5']);
  await orphansReaped(t, supervised, 5);
});

t.test('with --subreaper when not PID 1, 100 orphans leave no zombie behind', { skip }, async (t) => {
  const supervised = await supervise(t, ['--subreaper', '--', fixture('orphan-maker.sh'), '100'], { pid1: false });
  t.ok(supervised.logs.find(msgIs('supervisor started', { pid1: false, reaping: true })));
  await orphansReaped(t, supervised, 0);
});

t.test('the main child exits while a grandchild lives: SIGTERM it, then exit with the child\'s status', { skip }, async (t) => {
  const supervised = await supervise(t, ['--', 'sh', '-c', 'sleep 1000 & echo started; exit 3']);
  t.equal((await supervised.exited).status, 3);
  const left = supervised.logs.find(msgIs('the child exited and left processes running; sending them SIGTERM'));
  t.ok(left, 'the leftover sleep was signalled');
  t.equal((left?.pids as number[] | undefined)?.length, 1);
  t.ok(supervised.logs.find(msgIs('leftover processes ended')), 'and ended before the supervisor exited');
  t.ok(logIndex(supervised.logs, 'leftover processes ended') < logIndex(supervised.logs, 'supervisor exiting'));
});

/** A child that leaves a process ignoring SIGTERM, then exits with $1 after a line on stdin. */
const LEFTOVER_IGNORING_TERM = `(trap '' TERM; echo 'leftover ready'; exec sleep 1000) & read -r _line; exit "$1"`;

t.test('a leftover that ignores SIGTERM is killed when the timeout runs out', { skip }, async (t) => {
  const supervised = await supervise(t, ['--timeout', '300ms', '--', 'sh', '-c', LEFTOVER_IGNORING_TERM, 'sh', '4']);
  await waitForStdout(supervised, 'leftover ready');
  supervised.send('exit');
  t.equal((await supervised.exited).status, 4, 'still the main child\'s status');
  t.ok(supervised.logs.find(msgIs('leftover processes still running at the timeout; killing them')));
});

t.test('a SIGINT while leftovers are being ended kills them at once; the child\'s status stands', { skip }, async (t) => {
  const supervised = await supervise(t, ['--', 'sh', '-c', LEFTOVER_IGNORING_TERM, 'sh', '6']);
  await waitForStdout(supervised, 'leftover ready');
  supervised.send('exit');
  await supervised.waitForLog('the child exited and left processes running; sending them SIGTERM');
  supervised.kill('SIGINT');
  t.equal((await supervised.exited).status, 6, 'not 130: the child had exited by itself');
  t.ok(supervised.logs.find(msgIs('SIGINT after the child exited; killing what it left now')));
});

t.test('exec failures: 127 not found, 126 not executable, naming the command', { skip }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'deputy-exec-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const notExecutable = join(dir, 'not-executable');
  writeFileSync(notExecutable, '#!/bin/sh\nexit 0\n');
  chmodSync(notExecutable, 0o644);
  const missing = spawnChild(t, 'unshare', [...UNSHARE, NODE, DEPUTY_BIN, 'supervise', 'no-such-command-xyz']);
  t.equal((await missing.exited).status, 127);
  t.ok(
    missing.logs.find((r) => typeof r.msg === 'string' && r.msg.startsWith('command not found: no-such-command-xyz (is it installed and on PATH? PATH=')),
    'says what to check',
  );
  const denied = spawnChild(t, 'unshare', [...UNSHARE, NODE, DEPUTY_BIN, 'supervise', notExecutable]);
  t.equal((await denied.exited).status, 126);
  t.ok(denied.logs.find((r) => r.msg === `cannot execute ${notExecutable}: EACCES (a directory, or missing the execute bit: chmod +x)`), 'says what to do');
});

t.test('the child gets the caller\'s cwd and environment; stdout passes through', { skip }, async (t) => {
  const cwd = realpathSync(mkdtempSync(join(tmpdir(), 'deputy-cwd-')));
  t.teardown(() => rmSync(cwd, { recursive: true, force: true }));
  const supervised = await supervise(t, ['--', 'sh', '-c', 'pwd; echo "FOO=$FOO"'], { cwd, env: { FOO: 'bar baz' } });
  t.equal((await supervised.exited).status, 0);
  t.same(supervised.stdout, [cwd, 'FOO=bar baz']);
});

t.test('usage: --help documents every option and variable; errors exit 2 naming the problem', async (t) => {
  const help = await runDeputy(['supervise', '--help']);
  t.equal(help.status, 0);
  for (const word of ['--timeout <duration>', '--timeout-exit-code <n>', '--process-group', '--subreaper', 'DEPUTY_TIMEOUT', 'DEPUTY_TIMEOUT_EXIT_CODE', 'DEPUTY_IPC_DIR', 'DEPUTY_LOG_LEVEL']) {
    t.match(help.stdout, word, `--help mentions ${word}`);
  }
  t.equal((await runDeputy(['--version'])).status, 0);
  const cases: Array<[string[], NodeJS.ProcessEnv, RegExp]> = [
    [['supervise'], {}, /missing required argument 'command'/],
    [['supervise', '--bogus', 'true'], {}, /unknown option '--bogus'/],
    [['supervise', '--timeout', 'soon', 'true'], {}, /--timeout <duration>.*invalid duration "soon"/],
    [['supervise', 'true'], { DEPUTY_TIMEOUT: 'never' }, /DEPUTY_TIMEOUT.*invalid duration "never"/],
    [['supervise', '--timeout-exit-code', '256', 'true'], {}, /--timeout-exit-code <n>.*0 to 255/],
    [['supervise', 'true'], { DEPUTY_TIMEOUT_EXIT_CODE: 'x' }, /DEPUTY_TIMEOUT_EXIT_CODE.*0 to 255/],
  ];
  for (const [args, env, message] of cases) {
    const result = await runDeputy(args, env);
    t.equal(result.status, 2, `${args.join(' ')} ${JSON.stringify(env)} → 2`);
    t.match(result.stderr, message);
  }
  // both flags and variables: an empty variable counts as unset, as in the shim
  for (const args of [['supervise', 'true'], ['supervise', '-gs', 'true']]) {
    for (const name of ['DEPUTY_TIMEOUT', 'DEPUTY_TIMEOUT_EXIT_CODE']) {
      const result = await runDeputy(args, { [name]: '' });
      t.equal(result.status, 0, `${args.join(' ')} with ${name}='' → the default, not a usage error (${result.stderr.trim()})`);
    }
  }
  const passThrough = await runDeputy(['supervise', '--', 'sh', '-c', 'echo "$@"', 'sh', '--timeout', 'x']);
  t.equal(passThrough.status, 0, 'options after the command belong to the command');
  t.equal(passThrough.stdout, '--timeout x\n');
});

// ——— termination flows ———

t.test('SIGTERM → terminate over the socket → the app\'s callback; its exit code passes through', { skip }, async (t) => {
  const supervised = await supervise(t, ['--', NODE, fixture('terminator-app.js')], { env: { EXIT_CODE: '42' } });
  await supervised.waitForLog('registered');
  supervised.kill('SIGTERM');
  await supervised.waitForLog('callback ran');
  t.equal((await supervised.exited).status, 42);
  const sent = supervised.logs.find(msgIs('terminate sent', { via: 'socket' }));
  t.ok(sent, 'sent over the socket');
  t.ok(logIndex(supervised.logs, 'signal received') < logIndex(supervised.logs, 'terminate sent'));
  t.ok(supervised.logs.find(msgIs('child exited', { code: 42 })));
});

t.test('an app that ignores terminate is killed at the timeout (DEPUTY_TIMEOUT, DEPUTY_TIMEOUT_EXIT_CODE)', { skip }, async (t) => {
  const supervised = await supervise(t, ['--', NODE, fixture('terminator-app.js')], {
    env: { KEEP_ALIVE: '1', DEPUTY_TIMEOUT: '400ms', DEPUTY_TIMEOUT_EXIT_CODE: '99' },
  });
  await supervised.waitForLog('registered');
  supervised.kill('SIGTERM');
  await supervised.waitForLog('callback ran');
  t.equal((await supervised.exited).status, 99);
  t.ok(supervised.logs.find(msgIs('timeout: killing the child process group', { timeoutMs: 400 })));
  t.ok(supervised.logs.find(msgIs('child exited', { signal: 'SIGKILL' })));
});

t.test('--timeout with the default status 137: a graceless child that ignores SIGTERM', { skip }, async (t) => {
  const supervised = await supervise(t, ['--timeout', '300ms', '--', 'sh', '-c', "trap '' TERM; echo ready; while :; do sleep 1; done"]);
  await waitForStdout(supervised, 'ready');
  supervised.kill('SIGTERM');
  t.equal((await supervised.exited).status, 137);
  t.ok(supervised.logs.find(msgIs('terminate sent', { via: 'signal' })));
});

t.test('the timeout kills the child\'s whole process group, grandchildren included (not PID 1)', { skip }, async (t) => {
  // Not PID 1, so nothing but the supervisor's kill can end the grandchild.
  const supervised = await supervise(t, ['--timeout', '300ms', '--', NODE, fixture('signal-app.js')], {
    pid1: false,
    env: { SIGNALS: 'SIGTERM', SPAWN_CHILD: '1' },
  });
  const grandchild = await supervised.waitForLog(msgIs('ready', { role: 'grandchild' }));
  const grandchildPid = grandchild.pid as number;
  t.teardown(() => {
    try {
      process.kill(grandchildPid, 'SIGKILL');
    } catch {
      // gone, as it should be
    }
  });
  supervised.kill('SIGTERM');
  await supervised.waitForLog(msgIs('got signal', { signal: 'SIGTERM', role: 'child' }));
  t.equal((await supervised.exited).status, 137);
  const state = stateOf(grandchildPid);
  t.ok(state === undefined || state === 'Z', `the grandchild is gone too (state ${String(state)})`);
});

t.test('an app behind an intermediate shell is found through the pid file', { skip }, async (t) => {
  const supervised = await supervise(t, ['--', 'sh', '-c', `"${NODE}" "${fixture('terminator-app.js')}"; echo "app exited $?"; exit 7`], {
    env: { EXIT_CODE: '0' },
  });
  await supervised.waitForLog('registered');
  supervised.kill('SIGTERM');
  t.equal((await supervised.exited).status, 7, 'the shell\'s status');
  const started = supervised.logs.find(msgIs('supervisor started'));
  const sent = supervised.logs.find(msgIs('terminate sent', { via: 'socket' }));
  t.ok(sent, 'terminate went over the socket');
  t.not(sent?.target, started?.childPid, 'to the app, not to the shell');
  t.same(supervised.stdout, ['app exited 0'], 'the shell was not signalled; the app exited cleanly');
});

t.test('Ctrl-C twice kills at once (130); a second SIGTERM is logged and ignored', { skip }, async (t) => {
  const supervised = await supervise(t, ['--', NODE, fixture('terminator-app.js')], { env: { KEEP_ALIVE: '1' } });
  await supervised.waitForLog('registered');
  supervised.kill('SIGTERM');
  await supervised.waitForLog('callback ran');
  supervised.kill('SIGTERM');
  await supervised.waitForLog('termination already under way; signal ignored');
  supervised.kill('SIGINT');
  t.equal((await supervised.exited).status, 130);
  t.ok(supervised.logs.find(msgIs('second SIGINT during termination; killing the child now')));
});

t.test('Kubernetes order: preStop deputy terminate, SIGTERM to PID 1, grace period; the hook returns 0', { skip }, async (t) => {
  const supervised = await supervise(t, ['--timeout', '10s', '--', NODE, fixture('terminator-app.js')], {
    env: { HOLD_CALLBACK: '1', EXIT_CODE: '0' },
  });
  await supervised.waitForLog('registered');
  const hook = preStop(t, supervised, ['--timeout', '10s']);
  await supervised.waitForLog('callback ran'); // the app drains
  supervised.kill('SIGTERM'); // the kubelet's SIGTERM arrives while the app is still draining
  await supervised.waitForLog(msgIs('terminate sent', { via: 'socket' }));
  await supervised.waitForLog('terminate requested again');
  supervised.send('exit'); // the drain ends; the app exits 0
  const [hookExit, supervisorExit] = await Promise.all([hook.exited, supervised.exited]);
  t.equal(hookExit.status, 0, 'the preStop command returned 0 (was not cut off)');
  t.equal(supervisorExit.status, 0, 'the app\'s status');
  t.notOk(supervised.logs.find((r) => r.level === 'warn' || r.level === 'error'), 'no warning: a clean stop');
});

t.test('the supervisor waits for a preStop hook still running when the child exits', { skip }, async (t) => {
  // The hook's 50 ms poll usually lets it see the app gone only after the supervisor did: the
  // supervisor must not exit under it.
  const supervised = await supervise(t, ['--', NODE, fixture('terminator-app.js')], { env: { EXIT_CODE: '0' } });
  await supervised.waitForLog('registered');
  const hook = preStop(t, supervised);
  const [hookExit, supervisorExit] = await Promise.all([hook.exited, supervised.exited]);
  t.equal(hookExit.status, 0, 'the preStop command returned 0');
  t.equal(supervisorExit.status, 0);
  const waited = logIndex(supervised.logs, 'waiting for the preStop hook to return');
  if (waited >= 0) t.ok(logIndex(supervised.logs, 'preStop hook returned') > waited, 'and saw it return before exiting');
});

t.test('deputy terminate with no pid file reaches the supervisor\'s own socket; the hook returns 0', { skip }, async (t) => {
  const supervised = await supervise(t, ['--', 'sh', '-c', 'echo ready; exec sleep 1000']);
  await waitForStdout(supervised, 'ready');
  await supervised.waitForLog('graceful terminator listening'); // the supervisor's socket is bound
  const hook = preStop(t, supervised, ['--timeout', '10s']);
  const [hookExit, supervisorExit] = await Promise.all([hook.exited, supervised.exited]);
  t.equal(supervisorExit.status, 143, 'the graceless child got SIGTERM');
  t.equal(hookExit.status, 0, 'the hook aimed at PID 1 was released and returned 0');
  t.ok(supervised.logs.find(msgIs('terminate received on the supervisor socket')));
  t.ok(supervised.logs.find(msgIs('released the preStop hook aimed at the supervisor')));
});

t.test('stale preStop markers (a thread of the supervisor, a reused pid) do not hold the exit', { skip }, async (t) => {
  const dir = tempIpcDir(t);
  // In a fresh pid namespace the supervisor's threads take the first pids after 1 and kill -0
  // succeeds on a thread id: markers left from an earlier run name them.
  for (let pid = 2; pid <= 40; pid += 1) writeFileSync(join(dir, `deputy-prestop.${pid}`), '999\n');
  const supervised = await supervise(t, ['--timeout', '3s', '--', 'sh', '-c', 'exit 3'], { env: { DEPUTY_IPC_DIR: dir } });
  t.equal((await supervised.exited).status, 3);
  // Measured by the supervisor's own clock from the child's exit, so a slow start on a busy
  // machine does not count: waiting for a (stale) hook would take the whole 3 s timeout.
  const at = (msg: string): number => Date.parse(String(supervised.logs.find(msgIs(msg))?.time));
  const waitedMs = at('supervisor exiting') - at('child exited');
  t.ok(waitedMs < 2000, `exited without waiting out the timeout (${waitedMs} ms after the child)`);
  t.notOk(supervised.logs.find(msgIs('waiting for the preStop hook to return')), 'no stale marker was taken for a hook');
});

t.test('a marker is a hook only while its pid is that process: not a thread, not a later process', async (t) => {
  const { holdPreStopMarker, readMarker } = await import('../src/ipc/prestop.js');
  const { processStartTime } = await import('../src/contract/proc.js');
  const dir = tempIpcDir(t);
  const thread = readdirSync('/proc/self/task').map(Number).find((tid) => tid !== process.pid);
  t.ok(thread, 'this process has a thread');
  writeFileSync(join(dir, `deputy-prestop.${thread}`), '1\n');
  t.equal(readMarker(`deputy-prestop.${thread}`, dir), undefined, 'a thread id is not a hook');
  t.notOk(readdirSync(dir).includes(`deputy-prestop.${thread}`), 'and its marker is removed');

  const sleeper = spawn('sleep', ['1000'], { stdio: 'ignore' });
  t.teardown(() => {
    try {
      process.kill(sleeper.pid!, 'SIGKILL');
    } catch {
      // gone
    }
  });
  const name = `deputy-prestop.${sleeper.pid}`;
  const startTime = processStartTime(sleeper.pid!)!;
  writeFileSync(join(dir, name), `1\n${startTime - 1}\n`);
  t.equal(readMarker(name, dir), undefined, 'another start time: the pid was reused');
  writeFileSync(join(dir, name), `1\n${startTime}\n`);
  t.equal(readMarker(name, dir, startTime + 1), undefined, 'started before the supervisor: stale');
  writeFileSync(join(dir, name), `1\n${startTime}\n`);
  t.match(readMarker(name, dir, startTime), { pid: sleeper.pid, target: 1, startTime }, 'the same process: a hook');

  const marker = holdPreStopMarker(5, dir);
  t.same(readFileSync(marker.path!, 'utf8'), `5\n${processStartTime('self')}\n`, 'a marker records its writer\'s start time');
  t.notOk(marker.releasedByTarget(), 'held until a reader removes it');
  unlinkSync(marker.path!);
  t.ok(marker.releasedByTarget(), 'removed by its target: released');
});

t.test('deputy terminate leaves its marker until a reader sees it gone, even when stopped by SIGTERM', { skip }, async (t) => {
  const { runningPreStopHooks } = await import('../src/ipc/prestop.js');
  const dir = tempIpcDir(t);
  const app = spawnChild(t, NODE, [fixture('terminator-app.js')], { DEPUTY_IPC_DIR: dir, KEEP_ALIVE: '1' });
  await app.waitForLog('registered');
  const hook = spawnChild(t, NODE, [DEPUTY_BIN, 'terminate', String(app.pid), '--timeout', '30s'], { DEPUTY_IPC_DIR: dir });
  await app.waitForLog('callback ran'); // the hook wrote its marker before it sent terminate
  const name = `deputy-prestop.${hook.pid}`;
  t.match(runningPreStopHooks(dir), [{ pid: hook.pid, target: app.pid }], 'the hook holds its marker');
  process.kill(hook.pid, 'SIGTERM');
  t.equal((await hook.exited).status, 143);
  // Removing it before its exit would open a window in which an entrypoint sees no hook (src/ipc/prestop.ts).
  t.ok(readdirSync(dir).includes(name), 'the hook did not remove its marker');
  t.same(runningPreStopHooks(dir), [], 'its writer gone, the marker is stale');
  t.notOk(readdirSync(dir).includes(name), 'and the reader removed it');
});

t.test('a preStop hook starts the timeout: an app ignoring terminate is killed at it, and the hook returns', { skip }, async (t) => {
  const supervised = await supervise(t, ['--timeout', '1s', '--timeout-exit-code', '99', '--', NODE, fixture('terminator-app.js')], {
    env: { KEEP_ALIVE: '1' },
  });
  await supervised.waitForLog('registered');
  const hook = preStop(t, supervised, ['--timeout', '8s']);
  await supervised.waitForLog('callback ran');
  // No SIGTERM to PID 1: without the hook starting the clock nothing would end the app.
  await supervised.waitForLog('supervisor exiting', 6000);
  const [hookExit, supervisorExit] = await Promise.all([hook.exited, supervised.exited]);
  t.equal(supervisorExit.status, 99, 'killed at the supervisor\'s timeout with the configured status');
  t.equal(hookExit.status, 0, 'the hook saw its target gone and returned 0');
  t.ok(supervised.logs.find(msgIs('timeout: killing the child process group', { timeoutMs: 1000 })));
});

t.test('a hook held up when the timeout kills the app still gets its grace to return', { skip }, async (t) => {
  // After the timeout killed the app the supervisor waits a grace (1 s) for hooks aimed at the app
  // to see it gone. A hook that gets no CPU just then (a busy node) needs more than the few
  // milliseconds between the kill and PID 1's exit: here it is stopped until the supervisor says
  // it is waiting for it. Stopped, it cannot return in time by luck.
  const supervised = await supervise(t, ['--timeout', '2s', '--timeout-exit-code', '99', '--', NODE, fixture('terminator-app.js')], {
    env: { KEEP_ALIVE: '1' },
  });
  await supervised.waitForLog('registered');
  // `env -u`: without the test runner's coverage hooks, whose exit work would need far more CPU.
  const hook = spawnChild(t, 'nsenter', ['--target', String(supervised.supervisorPid), '--pid', '--mount', '--', 'env', '-u', 'NODE_OPTIONS', NODE, DEPUTY_BIN, 'terminate', '--timeout', '20s'], {
    DEPUTY_IPC_DIR: supervised.dir,
  });
  await supervised.waitForLog('callback ran'); // the hook has sent terminate and polls for the app's exit
  const hookNode = childrenOf(hook.pid)[0];
  t.ok(hookNode, 'the hook runs under nsenter');
  process.kill(hookNode!, 'SIGSTOP');
  await supervised.waitForLog('waiting for the preStop hook to return', 15_000);
  process.kill(hookNode!, 'SIGCONT');
  // nsenter, seeing its child stop, stopped itself too (to pass job control on): it goes on again.
  process.kill(hook.pid, 'SIGCONT');
  const [hookExit, supervisorExit] = await Promise.all([hook.exited, supervised.exited]);
  t.equal(supervisorExit.status, 99, 'killed at the timeout');
  t.equal(hookExit.status, 0, 'the held-up hook saw its target gone and returned 0, not cut off by the supervisor\'s exit');
  t.ok(supervised.logs.find(msgIs('preStop hook returned')), supervised.logs.map((record) => record.msg).join(' | '));
});

/**
 * Waits for a stdout line (stdout is not parsed as logs). A timer bounds the wait: a child that
 * prints nothing and never exits must fail the test, not hang it.
 */

t.test('waitForStdout gives up at its timeout when the child stays silent', async (t) => {
  const silent = spawnChild(t, 'sleep', ['1000']);
  // Bounded here too, so that a wait without its own timer fails this test instead of hanging it.
  let guard: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    waitForStdout(silent, 'never', 200).then(
      () => 'resolved',
      (error: Error) => error.message,
    ),
    new Promise<string>((resolve) => (guard = setTimeout(() => resolve('still waiting after 3 s'), 3000))),
  ]);
  clearTimeout(guard);
  t.match(outcome, /timed out waiting for stdout line never; got \[\]/);
});

t.test('the supervisor\'s pino-free logger writes the SDK logger\'s record shape', async (t) => {
  const script = `
    import { createLogger } from ${JSON.stringify(join(FIXTURES, '..', '..', 'dist', 'sdk/app-logger.js'))};
    import { createLineLogger } from ${JSON.stringify(join(FIXTURES, '..', '..', 'dist', 'log/logger.js'))};
    const error = Object.assign(new Error('boom'), { code: 'EBOOM' });
    createLogger('supervisor').warn({ n: 1, err: error }, 'same');
    createLineLogger('supervisor').warn({ n: 1, err: error }, 'same');
    createLineLogger('supervisor').debug('filtered at info');`;
  const child = spawnChild(t, NODE, ['--input-type=module', '-e', script], { DEPUTY_LOG_LEVEL: 'info' });
  t.equal((await child.exited).status, 0);
  t.equal(child.logs.length, 2, 'debug is filtered at info');
  const [fromPino, fromLine] = child.logs.map(({ time, ...rest }) => ({ ...rest, time: typeof time }));
  t.same(Object.keys(fromLine!), Object.keys(fromPino!), 'same keys in the same order');
  const pick = (record: LogRecord | undefined) => ({ ...record, err: { ...(record?.err as object), stack: undefined } });
  t.same(pick(fromLine), pick(fromPino), 'same values');
});

t.test('deputy supervise options: one parser for flags and variables; bad values are usage errors naming them', async (t) => {
  const parse = (argv: string[], env: NodeJS.ProcessEnv) => superviseOptions(parseCommandLine(spec, argv), env);
  const base = { timeoutMs: 25_000, timeoutExitCode: 137, processGroup: false, subreaper: false };
  t.same(parse(['node', 'app.js', '--port', '3'], {}), { ...base, command: 'node', args: ['app.js', '--port', '3'] });
  t.same(parse(['--timeout', '5s', '--timeout-exit-code=3', '-g', '--subreaper', '--', 'x', '--timeout'], {}), {
    ...base,
    timeoutMs: 5000,
    timeoutExitCode: 3,
    processGroup: true,
    subreaper: true,
    command: 'x',
    args: ['--timeout'],
  });
  t.same(parse(['-gs', 'x'], {}), { ...base, processGroup: true, subreaper: true, command: 'x', args: [] }, 'one-letter flags together');
  t.same(parse(['x'], { DEPUTY_TIMEOUT: '1.5s', DEPUTY_TIMEOUT_EXIT_CODE: '0' }), { ...base, timeoutMs: 1500, timeoutExitCode: 0, command: 'x', args: [] });
  t.same(parse(['x'], { DEPUTY_TIMEOUT: '', DEPUTY_TIMEOUT_EXIT_CODE: '' }), { ...base, command: 'x', args: [] }, 'empty variables count as unset');
  t.same(parse(['--timeout', '2s', 'x'], { DEPUTY_TIMEOUT: '9s' }), { ...base, timeoutMs: 2000, command: 'x', args: [] }, 'the flag beats the variable');
  t.equal(parseCommandLine(spec, ['--help']).help, true);
  const invalid: Array<[string[], NodeJS.ProcessEnv, RegExp]> = [
    [[], {}, /missing required argument 'command'/],
    [['--'], {}, /missing required argument 'command'/],
    [['--timeout'], {}, /option '--timeout <duration>' argument missing/],
    [['--timeout', 'soon', 'x'], {}, /--timeout <duration>.*invalid duration "soon"/],
    [['--timeout-exit-code', '256', 'x'], {}, /--timeout-exit-code <n>.*0 to 255/],
    [['--process-group=yes', 'x'], {}, /'--process-group' takes no value/],
    [['--bogus', 'x'], {}, /unknown option '--bogus'/],
    [['x'], { DEPUTY_TIMEOUT_EXIT_CODE: '-1' }, /DEPUTY_TIMEOUT_EXIT_CODE.*0 to 255/],
  ];
  for (const [argv, env, message] of invalid) t.throws(() => parse(argv, env), { code: 'EDEPUTY_USAGE', message }, `${JSON.stringify(argv)} ${JSON.stringify(env)}`);
});
