// The deputy CLI as a user runs it: exit statuses and the one line that says why.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, runDeputy, spawnFixture, tempIpcDir } from './helpers.js';
import { socketPath } from '../src/contract/protocol.js';
import { processGone } from '../src/contract/proc.js';
import unix from 'unix-dgram';

const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };

t.test('--help and --version exit 0', async (t) => {
  const help = await runDeputy(['--help']);
  t.equal(help.status, 0);
  t.match(help.stdout, /terminate/);
  t.match(help.stdout, /DEPUTY_IPC_DIR/);
  const terminateHelp = await runDeputy(['terminate', '--help']);
  t.equal(terminateHelp.status, 0);
  t.match(terminateHelp.stdout, /--no-wait/);
  t.match(terminateHelp.stdout, /--timeout <duration>/);
  const shown = await runDeputy(['--version']);
  t.equal(shown.status, 0);
  t.equal(shown.stdout.trim(), version);
});

t.test('usage errors exit 2 and name the problem', async (t) => {
  const badDuration = await runDeputy(['terminate', '--timeout', 'soon']);
  t.equal(badDuration.status, 2);
  t.match(badDuration.stderr, /--timeout <duration>.*invalid duration "soon"/);
  const badPid = await runDeputy(['terminate', 'abc']);
  t.equal(badPid.status, 2);
  t.match(badPid.stderr, /pid is a positive integer/);
  const unknownOption = await runDeputy(['terminate', '--bogus']);
  t.equal(unknownOption.status, 2);
  t.match(unknownOption.stderr, /unknown option '--bogus'/);
  const unknownCommand = await runDeputy(['frobnicate']);
  t.equal(unknownCommand.status, 2);
  t.match(unknownCommand.stderr, /unknown command 'frobnicate'/);
});

t.test('deputy terminate: the preStop hook', async (t) => {
  const dir = tempIpcDir(t);
  const app = spawnFixture(t, 'terminator-app.js', { DEPUTY_IPC_DIR: dir, EXIT_CODE: '0' });
  await app.waitForLog('registered');
  const result = await runDeputy(['terminate', '--timeout', '10s'], { DEPUTY_IPC_DIR: dir });
  t.equal(result.status, 0, 'exit 0 once the target is gone');
  t.equal(result.stderr, '');
  t.ok(processGone(app.pid), 'the app had exited (or was a zombie awaiting its parent) when terminate returned');
  t.equal((await app.exited).status, 0);
});

t.test('deputy terminate --no-wait returns once sent', async (t) => {
  const dir = tempIpcDir(t);
  const app = spawnFixture(t, 'terminator-app.js', { DEPUTY_IPC_DIR: dir, KEEP_ALIVE: '1' });
  await app.waitForLog('registered');
  const result = await runDeputy(['terminate', String(app.pid), '--no-wait'], { DEPUTY_IPC_DIR: dir });
  t.equal(result.status, 0);
  await app.waitForLog('callback ran');
  t.equal(app.process.exitCode, null, 'the app (which ignores terminate) still runs');
});

t.test('deputy terminate failures: one line saying why, exit 1', async (t) => {
  const dir = tempIpcDir(t);
  const none = await runDeputy(['terminate', '999999'], { DEPUTY_IPC_DIR: dir });
  t.equal(none.status, 1);
  t.match(none.stderr, /^deputy terminate: no graceful-terminator socket for pid 999999 .*\n$/);
  t.equal(none.stderr.split('\n').length, 2, 'exactly one line');

  const stale = unix.createSocket('unix_dgram');
  stale.bind(socketPath(999998, dir));
  stale.close();
  const staleResult = await runDeputy(['terminate', '999998'], { DEPUTY_IPC_DIR: dir });
  t.equal(staleResult.status, 1);
  t.match(staleResult.stderr, /nobody is listening/);

  const app = spawnFixture(t, 'terminator-app.js', { DEPUTY_IPC_DIR: dir, KEEP_ALIVE: '1' });
  await app.waitForLog('registered');
  const slow = await runDeputy(['terminate', '--timeout', '300ms'], { DEPUTY_IPC_DIR: dir });
  t.equal(slow.status, 1);
  t.match(slow.stderr, new RegExp(`process ${app.pid} is still running 300 ms after terminate was sent`));

  const missing = await runDeputy(['terminate', '1'], { DEPUTY_IPC_DIR: join(dir, 'missing') });
  t.equal(missing.status, 1);
  t.match(missing.stderr, /no graceful-terminator socket for pid 1/);
});
