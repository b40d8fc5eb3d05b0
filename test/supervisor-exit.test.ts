// deputy supervise, black box, the child's exit: its status passes through unchanged, a signal
// that killed it gives 128+N, a command that cannot run gives 127 or 126 naming it, and the child
// gets the caller's cwd, environment and stdout. Run as a real PID 1 (test/supervisor-helpers.ts).
import t from 'tap';
import type { Test } from 'tap';
import { spawn } from 'node:child_process';
import { constants, tmpdir } from 'node:os';
import { chmodSync, writeFileSync, mkdtempSync, rmSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { DEPUTY_BIN, UNSHARE, spawnChild } from './helpers.js';
import { NODE, msgIs, pid1Unavailable, supervise } from './supervisor-helpers.js';

const unavailable = pid1Unavailable();
const skip = unavailable ? `cannot run the supervisor as PID 1: ${unavailable}` : false;
if (unavailable && process.env.CI === 'true') t.fail(`${skip} (a skip is a failure when CI=true)`);

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
