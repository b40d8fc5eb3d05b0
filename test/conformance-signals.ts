// Conformance cases for stop signals (DEPUTY_STOP_SIGNALS) and rewrites (DEPUTY_REWRITE), run by
// test/conformance.test.ts against every entrypoint as PID 1. A stop signal does exactly what
// SIGTERM does; a rewrite changes only what reaches the child: forwarded signals and the signal
// sent when `terminate` cannot be (the rewrite of the signal received); to 0 drops it.
import type { Test } from 'tap';
import { join } from 'node:path';
import { FIXTURES, tempIpcDir, type Child, type LogRecord } from './helpers.js';

/** The entrypoint as PID 1, signalled by its host pid. */
export interface Pid1Child extends Child {
  signal(signal: NodeJS.Signals): void;
}

export interface Pid1Runner {
  start(t: Test, command: readonly string[], env?: NodeJS.ProcessEnv): Pid1Child;
  run(t: Test, command: readonly string[], env?: NodeJS.ProcessEnv): Promise<{ status: number; logs: LogRecord[]; stdout: string[] }>;
}

const node = process.execPath;
const terminatorApp = join(FIXTURES, 'terminator-app.js');
const signalsApp = join(FIXTURES, 'signals-app.js');
const got = (child: Child, signal: NodeJS.Signals): boolean => child.logs.some((r) => r.msg === `got ${signal}`);
const via = (child: Child): unknown => child.logs.find((r) => r.msg === 'terminate requested; running the graceful terminator')?.via;

/** Values each entrypoint must refuse before it starts the command. */
export const BAD_VALUES: ReadonlyArray<readonly [variable: string, value: string]> = [
  ['DEPUTY_STOP_SIGNALS', 'SIGKILL'],
  ['DEPUTY_STOP_SIGNALS', 'QUIT,STOP'],
  ['DEPUTY_STOP_SIGNALS', 'SIGFOO'],
  ['DEPUTY_STOP_SIGNALS', 'CHLD'],
  ['DEPUTY_STOP_SIGNALS', 'RTMIN+3'],
  ['DEPUTY_REWRITE', 'TERM'],
  ['DEPUTY_REWRITE', 'KILL:TERM'],
  ['DEPUTY_REWRITE', 'PIPE:TERM'],
  ['DEPUTY_REWRITE', 'TERM:NOPE'],
  ['DEPUTY_REWRITE', '15:34'],
];

export async function signalCases(t: Test, pid1: Pid1Runner): Promise<void> {
  t.test('a stop signal starts termination as SIGTERM does: terminate over the socket, the app’s status', async (t) => {
    const app = pid1.start(t, [node, terminatorApp], { DEPUTY_IPC_DIR: tempIpcDir(t), EXIT_CODE: '7', DEPUTY_STOP_SIGNALS: 'SIGHUP, 3' });
    await app.waitForLog('registered');
    app.signal('SIGQUIT');
    t.equal((await app.exited).status, 7, 'the app’s exit status (not 131, SIGQUIT’s default action)');
    t.equal(via(app), 'socket', 'the app heard terminate on its socket');
  });

  t.test('a stop signal starts the timeout: an app that ignores terminate is killed with DEPUTY_TIMEOUT_EXIT_CODE', async (t) => {
    const app = pid1.start(t, [node, terminatorApp], {
      DEPUTY_IPC_DIR: tempIpcDir(t),
      KEEP_ALIVE: '1',
      DEPUTY_STOP_SIGNALS: 'winch',
      DEPUTY_TIMEOUT: '300ms',
      DEPUTY_TIMEOUT_EXIT_CODE: '99',
    });
    await app.waitForLog('registered');
    app.signal('SIGWINCH');
    await app.waitForLog('callback ran');
    t.equal((await app.exited).status, 99);
  });

  t.test('a rewrite changes a forwarded signal; to 0 drops it', async (t) => {
    const app = pid1.start(t, [node, signalsApp], { DEPUTY_IPC_DIR: tempIpcDir(t), DEPUTY_REWRITE: 'HUP:USR2, 10:0' });
    await app.waitForLog('ready');
    app.signal('SIGHUP');
    await app.waitForLog('got SIGUSR2');
    // Had SIGUSR1 been passed on, the child would have logged it before the later SIGWINCH.
    app.signal('SIGUSR1');
    app.signal('SIGWINCH');
    await app.waitForLog('got SIGWINCH');
    t.notOk(got(app, 'SIGHUP'), 'SIGHUP reached the child as SIGUSR2 only');
    t.notOk(got(app, 'SIGUSR1'), 'SIGUSR1 was dropped');
    app.signal('SIGTERM');
    t.equal((await app.exited).status, 0);
  });

  t.test('no socket: the child gets the rewrite of the signal received (TERM:QUIT, as nginx wants)', async (t) => {
    const app = pid1.start(t, [node, signalsApp], { DEPUTY_IPC_DIR: tempIpcDir(t), DEPUTY_REWRITE: 'TERM:QUIT', EXIT_ON: 'SIGQUIT', ON_TERM: 'exit:4', DEPUTY_TIMEOUT: '5s' });
    await app.waitForLog('ready');
    app.signal('SIGTERM');
    t.equal((await app.exited).status, 4, 'the child exited on SIGQUIT');
    t.ok(got(app, 'SIGQUIT'), 'the child got SIGQUIT');
    t.notOk(got(app, 'SIGTERM'), 'and not SIGTERM');
  });

  t.test('a stop signal with no socket: the child gets its rewrite and the timeout runs', async (t) => {
    const app = pid1.start(t, [node, signalsApp], {
      DEPUTY_IPC_DIR: tempIpcDir(t),
      DEPUTY_STOP_SIGNALS: 'QUIT',
      DEPUTY_REWRITE: 'QUIT:USR2',
      ON_TERM: 'ignore',
      DEPUTY_TIMEOUT: '300ms',
      DEPUTY_TIMEOUT_EXIT_CODE: '99',
    });
    await app.waitForLog('ready');
    app.signal('SIGQUIT');
    await app.waitForLog('got SIGUSR2');
    t.equal((await app.exited).status, 99, 'killed at the timeout: termination had begun');
    t.notOk(got(app, 'SIGQUIT'), 'the child never saw SIGQUIT');
  });

  t.test('no socket and the signal rewritten to 0: nothing reaches the child, the timeout kills it', async (t) => {
    const app = pid1.start(t, [node, signalsApp], { DEPUTY_IPC_DIR: tempIpcDir(t), DEPUTY_REWRITE: 'SIGTERM:0', DEPUTY_TIMEOUT: '300ms' });
    await app.waitForLog('ready');
    app.signal('SIGTERM');
    t.equal((await app.exited).status, 137);
    t.notOk(got(app, 'SIGTERM'), 'the child never got SIGTERM');
  });

  t.test('bad DEPUTY_STOP_SIGNALS and DEPUTY_REWRITE: exit 2 naming the variable, the command never runs', async (t) => {
    for (const [variable, value] of BAD_VALUES) {
      const { status, logs, stdout } = await pid1.run(t, ['sh', '-c', 'echo started'], { [variable]: value });
      t.equal(status, 2, `${variable}=${value}: exit 2`);
      t.ok(
        logs.some((r) => String(r.msg).includes(variable)),
        `${variable}=${value}: the message names the variable (${logs.map((r) => r.msg).join(' | ')})`,
      );
      t.same(stdout, [], `${variable}=${value}: the command did not run`);
    }
  });
}
