// The bash shim's own surface: how it sends terminate (socat, nc, node, none), its JSON logs, its
// usage errors, its process-group kill when not PID 1, shellcheck, and `deputy install-shim`.
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES, ROOT, runDeputy, spawnChild, tempIpcDir, type LogRecord } from './helpers.js';
import { installSuperviseShim, ShimExistsError, SHIM_SCRIPTS } from '../src/cli/install-shim.js';
import { processGone } from '../src/contract/proc.js';

const SUPERVISE = join(ROOT, 'shim', 'supervise.sh');
const PROBE = join(ROOT, 'shim', 'probe.sh');
const node = process.execPath;
const CI = process.env.CI === 'true';

/** Absolute path of a command on this machine's PATH, or undefined. */
function which(command: string): string | undefined {
  const found = spawnSync('bash', ['-c', `type -P ${command}`], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim() : undefined;
}

/** Skips with the reason, or fails when CI=true (CI installs every tool the suite needs). */
function missing(t: Test, what: string): void {
  if (CI) t.fail(`${what} (CI must provide it: see .ci/run)`);
  else t.skip(what, () => {});
}

/** A directory holding only links to `commands`, to give the shim a PATH without the others. */
function pathWith(t: Test, commands: readonly string[]): string | undefined {
  const dir = join(tempIpcDir(t, 'deputy-path-'), 'bin');
  mkdirSync(dir);
  for (const command of commands) {
    const found = which(command);
    if (found === undefined) return undefined;
    symlinkSync(found, join(dir, command));
  }
  return dir;
}

function runShim(args: readonly string[], env: NodeJS.ProcessEnv = {}) {
  const result = spawnSync(SUPERVISE, args, { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 20_000 });
  const logs = result.stderr
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as LogRecord);
  return { status: result.status, logs, stdout: result.stdout };
}

t.test('every sender path delivers terminate', async (t) => {
  // The shim itself needs bash, sleep and timeout; the rest decides the sender.
  const base = ['bash', 'sleep', 'timeout'];
  // An installed copy (as in an image) cannot find the package next to itself: DEPUTY_CLI names it.
  const installedDir = join(tempIpcDir(t, 'deputy-installed-'), 'bin');
  installSuperviseShim(installedDir);
  const installed = join(installedDir, 'supervise.sh');
  const cases = [
    { name: 'socat', sender: 'socat', commands: [...base, 'socat', 'nc', 'node'], via: 'socket' },
    { name: 'nc', sender: 'nc', commands: [...base, 'nc', 'node'], via: 'socket' },
    { name: 'node, the package next to the script', sender: 'node', commands: [...base, 'node'], via: 'socket' },
    { name: 'node, DEPUTY_CLI', sender: 'node', commands: [...base, 'node'], via: 'socket', script: installed, env: { DEPUTY_CLI: join(ROOT, 'bin', 'deputy.js') } },
    { name: 'node, but no deputy CLI to be found', sender: 'none', commands: [...base, 'node'], via: 'SIGTERM', script: installed },
    { name: 'none', sender: 'none', commands: base, via: 'SIGTERM' },
  ];
  for (const { name, sender, commands, via, script = SUPERVISE, env = {} } of cases) {
    t.test(name, async (t) => {
      const path = pathWith(t, commands);
      if (path === undefined) return missing(t, `one of ${commands.join(', ')} is not installed`);
      const dir = tempIpcDir(t);
      const shim = spawnChild(t, script, [node, join(FIXTURES, 'terminator-app.js')], { DEPUTY_IPC_DIR: dir, EXIT_CODE: '0', PATH: path, ...env });
      await shim.waitForLog('registered');
      process.kill(shim.pid, 'SIGTERM');
      t.equal((await shim.exited).status, 0);
      const heard = shim.logs.find((r) => r.msg === 'terminate requested; running the graceful terminator');
      t.equal(heard?.via, via, `the app heard it by ${via}`);
      if (sender === 'none') {
        t.ok(shim.logs.some((r) => r.component === 'supervise.sh' && r.sender === 'none' && r.level === 'warn'), 'the failed send is logged');
      } else {
        const sent = shim.logs.find((r) => r.component === 'supervise.sh' && typeof r.msg === 'string' && r.msg.startsWith('received SIGTERM; sent terminate'));
        t.equal(sent?.sender, sender);
      }
    });
  }
});

t.test('JSON log lines: level, ISO time, pid, msg, escaped without jq', async (t) => {
  const name = 'odd "name"\\\twith\nnew line\u0001é';
  const result = runShim([name]);
  t.equal(result.status, 127);
  t.equal(result.logs.length, 1);
  const [record] = result.logs;
  t.equal(record?.level, 'error');
  t.match(String(record?.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  t.ok(Math.abs(Date.parse(String(record?.time)) - Date.now()) < 60_000, 'time is now, in UTC');
  t.equal(typeof record?.pid, 'number');
  t.equal(record?.command, name, 'the name round-trips through the JSON escaping');
  t.match(String(record?.msg), name);

  const quiet = runShim(['sh', '-c', 'exit 0'], { DEPUTY_LOG_LEVEL: 'warn' });
  t.equal(quiet.status, 0);
  t.same(quiet.logs, [], 'info lines are dropped at level warn');
});

t.test('usage errors exit 2 and say what to do; --help exits 0', async (t) => {
  const help = runShim(['--help']);
  t.equal(help.status, 0);
  t.match(help.stdout, /DEPUTY_TIMEOUT/);
  const cases: Array<[string[], NodeJS.ProcessEnv, RegExp]> = [
    [[], {}, /missing the command/],
    [['--bogus'], {}, /unknown option '--bogus'/],
    [['true'], { DEPUTY_TIMEOUT: 'soon' }, /DEPUTY_TIMEOUT: invalid duration "soon"/],
    [['true'], { DEPUTY_TIMEOUT: '30d' }, /invalid duration/],
    [['true'], { DEPUTY_TIMEOUT: '999999999999s' }, /too long/],
    [['true'], { DEPUTY_TIMEOUT_EXIT_CODE: '256' }, /DEPUTY_TIMEOUT_EXIT_CODE: "256" is not an exit status/],
  ];
  for (const [args, env, message] of cases) {
    const result = runShim(args, env);
    t.equal(result.status, 2, `${args.join(' ')} ${JSON.stringify(env)}`);
    t.match(String(result.logs[0]?.msg), message);
  }
  const ok = runShim(['--', 'sh', '-c', 'exit 3'], { DEPUTY_TIMEOUT: '1.5s' });
  t.equal(ok.status, 3, '-- then the command; decimal durations are accepted');
});

t.test('not PID 1: the grace period kills the child’s whole process group', async (t) => {
  const dir = tempIpcDir(t);
  // Child and grandchild both ignore SIGTERM; they share the child's process group.
  const shim = spawnChild(t, SUPERVISE, ['sh', '-c', `trap '' TERM; "${node}" "${join(FIXTURES, 'signals-app.js')}"; exit 0`], {
    DEPUTY_IPC_DIR: dir,
    ON_TERM: 'ignore',
    DEPUTY_TIMEOUT: '200ms',
  });
  const ready = await shim.waitForLog('ready');
  const grandchild = Number(ready.pid);
  t.teardown(() => {
    if (!processGone(grandchild)) process.kill(grandchild, 'SIGKILL');
  });
  process.kill(shim.pid, 'SIGTERM');
  t.equal((await shim.exited).status, 137);
  t.ok(shim.logs.some((r) => r.component === 'supervise.sh' && r.level === 'error' && String(r.msg).includes('200 ms')), 'the timeout is logged');
  // SIGKILL is delivered before kill(2) returns; the grandchild may wait to be reaped by init.
  const deadline = Date.now() + 5000;
  while (!processGone(grandchild) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  t.ok(processGone(grandchild), 'the grandchild is gone too');
});

t.test('a malformed pid file: warn and signal the child', async (t) => {
  const dir = tempIpcDir(t);
  writeFileSync(join(dir, 'deputy-entrypoint.pid'), 'not a pid\n');
  const shim = spawnChild(t, SUPERVISE, [node, join(FIXTURES, 'signals-app.js')], { DEPUTY_IPC_DIR: dir, ON_TERM: 'exit:8' });
  await shim.waitForLog('ready');
  process.kill(shim.pid, 'SIGTERM');
  t.equal((await shim.exited).status, 8);
  const warning = shim.logs.find((r) => r.component === 'supervise.sh' && r.level === 'warn');
  t.match(String(warning?.msg), /is malformed; it must hold a decimal pid/);
  t.equal(warning?.content, 'not a pid');
  t.ok(shim.logs.some((r) => r.msg === 'got SIGTERM'));
});

t.test('a second SIGTERM during termination goes to the child as a signal', async (t) => {
  const dir = tempIpcDir(t);
  const shim = spawnChild(t, SUPERVISE, [node, join(FIXTURES, 'terminator-app.js')], { DEPUTY_IPC_DIR: dir, HOLD_CALLBACK: '1', EXIT_CODE: '0', SIGNALS: '' });
  await shim.waitForLog('registered');
  process.kill(shim.pid, 'SIGTERM');
  await shim.waitForLog('callback ran');
  process.kill(shim.pid, 'SIGTERM');
  // The app registered no signal handlers, so SIGTERM kills it: 143.
  t.equal((await shim.exited).status, 143);
  t.ok(shim.logs.some((r) => String(r.msg).startsWith('SIGTERM again during termination')));
});

t.test('shellcheck finds nothing', async (t) => {
  if (which('shellcheck') === undefined) return missing(t, 'shellcheck is not installed');
  const result = spawnSync('shellcheck', [SUPERVISE, PROBE], { encoding: 'utf8' });
  t.equal(result.status, 0, result.stdout);
});

t.test('the scripts ship in the package', async (t) => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { files: string[] };
  t.ok(pkg.files.includes('shim'), 'package.json "files" lists shim');
  for (const name of SHIM_SCRIPTS) t.ok(statSync(join(ROOT, 'shim', name)).mode & 0o111, `${name} is executable in the source tree`);
});

t.test('installSuperviseShim(dir)', async (t) => {
  const dir = join(tempIpcDir(t), 'bin');
  t.same(
    installSuperviseShim(dir).map((r) => r.action),
    ['installed', 'installed'],
    'a missing directory is created',
  );
  for (const name of SHIM_SCRIPTS) {
    const path = join(dir, name);
    t.equal(statSync(path).mode & 0o777, 0o755, `${name} is 0755`);
    t.ok(readFileSync(path).equals(readFileSync(join(ROOT, 'shim', name))), `${name} is the shipped script`);
  }
  t.same(installSuperviseShim(dir).map((r) => r.action), ['unchanged', 'unchanged'], 'identical files are left alone');

  writeFileSync(join(dir, 'probe.sh'), '#!/bin/sh\necho mine\n');
  writeFileSync(join(dir, 'supervise.sh'), '#!/bin/sh\necho also mine\n');
  t.throws(() => installSuperviseShim(dir), ShimExistsError, 'a different file is an error');
  t.equal(readFileSync(join(dir, 'probe.sh'), 'utf8'), '#!/bin/sh\necho mine\n', 'nothing was overwritten');
  t.same(installSuperviseShim(dir, { force: true }).map((r) => r.action), ['replaced', 'replaced'], 'force replaces');

  const installed = spawnSync(join(dir, 'supervise.sh'), ['sh', '-c', 'exit 3'], { encoding: 'utf8' });
  t.equal(installed.status, 3, 'the installed shim runs');
});

t.test('deputy install-shim <dir> [--force]', async (t) => {
  const dir = tempIpcDir(t);
  const first = await runDeputy(['install-shim', dir]);
  t.equal(first.status, 0, first.stderr);
  t.equal(first.stdout, `installed ${join(dir, 'supervise.sh')}\ninstalled ${join(dir, 'probe.sh')}\n`);
  writeFileSync(join(dir, 'supervise.sh'), 'something else\n');
  const conflict = await runDeputy(['install-shim', dir]);
  t.equal(conflict.status, 1);
  t.match(conflict.stderr, /^deputy install-shim: .*supervise\.sh already exists and differs .*--force/);
  const forced = await runDeputy(['install-shim', dir, '--force']);
  t.equal(forced.status, 0);
  t.match(forced.stdout, /replaced .*supervise\.sh\nunchanged .*probe\.sh/);
  const usage = await runDeputy(['install-shim']);
  t.equal(usage.status, 2);
  t.match(usage.stderr, /missing required argument 'dir'/);
  const help = await runDeputy(['install-shim', '--help']);
  t.equal(help.status, 0);
  t.match(help.stdout, /--force/);
});
