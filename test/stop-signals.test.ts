// deputy supervise's --stop-signal and --rewrite (the environment variables both entrypoints read
// are in test/conformance-signals.ts): the parsers of src/contract/signals.ts, the flags as a real
// PID 1 (`unshare --pid --fork --mount-proc`), how they combine with the variables, what a second
// stop signal does, bad values and --help.
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HANDLED_SIGNALS, parseRewrite, parseRewrites, parseSignal, parseStopSignal, parseStopSignals, rewriteSignal } from '../src/contract/signals.js';
import { UsageError } from '../src/contract/errors.js';
import { parseCommandLine } from '../src/cli/command.js';
import { spec, superviseOptions } from '../src/cli/supervise.js';
import { DEPUTY_BIN, FIXTURES, ROOT, runDeputy, spawnChild, tempIpcDir, type Child } from './helpers.js';

const node = process.execPath;

t.test('signals are written as kill and dumb-init write them', async (t) => {
  for (const text of ['SIGQUIT', 'QUIT', 'quit', 'SigQuit', ' 3 ', '3']) t.equal(parseSignal(text, 'x'), 'SIGQUIT', JSON.stringify(text));
  t.equal(parseSignal('IOT', 'x'), 'SIGABRT', 'an alias becomes the usual name');
  t.equal(parseSignal('29', 'x'), 'SIGIO', 'a number becomes its usual name');
  for (const [text, pattern] of [
    ['SIGKILL', /DEPUTY_X: SIGKILL cannot be caught/],
    ['19', /DEPUTY_X: SIGSTOP cannot be caught/],
    ['SIGFOO', /DEPUTY_X: unknown signal "SIGFOO"/],
    ['0', /unknown signal "0"/],
    ['65', /unknown signal "65"/],
    ['', /unknown signal ""/],
    ['RTMIN+3', /real-time signal/],
    ['SIGRTMAX', /real-time signal/],
    ['40', /real-time signal/],
  ] as const) {
    t.throws(() => parseSignal(text, 'DEPUTY_X'), pattern, JSON.stringify(text));
    t.throws(() => parseSignal(text, 'DEPUTY_X'), UsageError);
  }
});

t.test('a stop signal must be one the supervisor listens to', async (t) => {
  t.same(parseStopSignals('SIGQUIT, winch,,28,1,', 'V'), ['SIGQUIT', 'SIGWINCH', 'SIGHUP'], 'names, numbers, duplicates and empty items');
  t.same(parseStopSignals('', 'V'), []);
  for (const signal of HANDLED_SIGNALS) t.equal(parseStopSignal(signal.slice(3), 'V'), signal);
  t.throws(() => parseStopSignal('CHLD', 'V'), /V: SIGCHLD cannot be a stop signal: the supervisor needs SIGCHLD to reap/);
  t.throws(() => parseStopSignal('SEGV', 'V'), /SIGSEGV cannot be a stop signal: SIGSEGV reports a crash/);
  t.throws(() => parseStopSignal('TTIN', 'V'), /terminal/);
  t.throws(() => parseStopSignals('QUIT,KILL', 'V'), /V: SIGKILL cannot be caught/);
});

t.test('rewrite pairs: from a signal the supervisor passes on, to any signal or 0', async (t) => {
  t.same(parseRewrite('15:3', 'R'), ['SIGTERM', 'SIGQUIT'], "dumb-init's form");
  t.same(parseRewrite(' term : SIGQUIT ', 'R'), ['SIGTERM', 'SIGQUIT']);
  t.same(parseRewrite('HUP:0', 'R'), ['SIGHUP', 0], '0 drops');
  t.same(parseRewrite('TSTP:STOP', 'R'), ['SIGTSTP', 'SIGSTOP'], 'to may be SIGSTOP, as in dumb-init');
  t.same(parseRewrites('TERM:QUIT,HUP:0,TERM:USR2,', 'R'), { SIGTERM: 'SIGUSR2', SIGHUP: 0 }, 'a later pair wins');
  for (const [text, pattern] of [
    ['TERM', /R: "TERM" is not a from:to pair/],
    ['TERM:', /not a from:to pair/],
    [':3', /not a from:to pair/],
    ['1:2:3', /not a from:to pair/],
    ['KILL:TERM', /SIGKILL cannot be rewritten.*cannot be caught/],
    ['CHLD:TERM', /SIGCHLD cannot be rewritten/],
    ['TERM:NOPE', /unknown signal "NOPE"/],
    ['0:TERM', /unknown signal "0"/],
    ['TERM:34', /real-time/],
  ] as const) {
    t.throws(() => parseRewrite(text, 'R'), pattern, text);
  }
  const rewrites = parseRewrites('TERM:QUIT,HUP:0', 'R');
  t.equal(rewriteSignal(rewrites, 'SIGTERM'), 'SIGQUIT');
  t.equal(rewriteSignal(rewrites, 'SIGHUP'), undefined, 'dropped');
  t.equal(rewriteSignal(rewrites, 'SIGUSR1'), 'SIGUSR1', 'others unchanged');
});

t.test('the flags add to the variables; a --rewrite pair wins over the variable’s for the same signal', async (t) => {
  const parsed = parseCommandLine(spec, ['--stop-signal', 'QUIT', '--stop-signal=28', '--rewrite', 'TERM:USR2', '--rewrite', '1:0', '--', 'app']);
  const options = superviseOptions(parsed, { DEPUTY_STOP_SIGNALS: 'HUP,QUIT', DEPUTY_REWRITE: 'TERM:QUIT,INT:TERM' });
  t.same(options.stopSignals, ['SIGHUP', 'SIGQUIT', 'SIGWINCH']);
  t.same(options.rewrite, { SIGTERM: 'SIGUSR2', SIGINT: 'SIGTERM', SIGHUP: 0 });
  t.same(superviseOptions(parseCommandLine(spec, ['app']), {}).stopSignals, undefined, 'none by default');
  t.same(superviseOptions(parseCommandLine(spec, ['app']), { DEPUTY_REWRITE: '' }).rewrite, undefined, 'empty counts as unset');
});

t.test('bad values exit 2 with one line naming the flag or the variable', async (t) => {
  const cases: Array<[readonly string[], NodeJS.ProcessEnv, RegExp]> = [
    [['--stop-signal', 'KILL'], {}, /option '--stop-signal <signal>': SIGKILL cannot be caught/],
    [['--stop-signal', 'CHLD'], {}, /option '--stop-signal <signal>': SIGCHLD cannot be a stop signal/],
    [['--stop-signal', '64'], {}, /option '--stop-signal <signal>': "64" is a real-time signal/],
    [['--stop-signal='], {}, /option '--stop-signal <signal>': unknown signal ""/],
    [['--rewrite', 'TERM'], {}, /option '--rewrite <from>:<to>': "TERM" is not a from:to pair/],
    [['--rewrite', 'STOP:TERM'], {}, /option '--rewrite <from>:<to>': SIGSTOP cannot be rewritten/],
    [[], { DEPUTY_STOP_SIGNALS: 'QUIT,BOGUS' }, /DEPUTY_STOP_SIGNALS: unknown signal "BOGUS"/],
    [[], { DEPUTY_REWRITE: 'TERM:QUIT,PIPE:1' }, /DEPUTY_REWRITE: SIGPIPE cannot be rewritten/],
  ];
  for (const [flags, env, pattern] of cases) {
    const result = await runDeputy(['supervise', ...flags, '--', 'sh', '-c', 'echo started'], env);
    t.equal(result.status, 2, `${flags.join(' ')} ${JSON.stringify(env)}: exit 2`);
    t.match(result.stderr, pattern);
    t.equal(result.stderr.trim().split('\n').length, 1, 'one line');
    t.equal(result.stdout, '', 'the command did not run');
  }
});

t.test('--help lists both flags and both variables', async (t) => {
  const help = await runDeputy(['supervise', '--help']);
  t.equal(help.status, 0);
  t.match(help.stdout, /--stop-signal <signal>.*\(repeatable\)/);
  t.match(help.stdout, /--rewrite <from>:<to>.*\(repeatable\)/);
  t.match(help.stdout, /DEPUTY_STOP_SIGNALS +supervisor: /);
  t.match(help.stdout, /DEPUTY_REWRITE +supervisor: /);
});

t.test('the shim traps the signals the supervisor listens to (its list is the contract’s)', async (t) => {
  const shim = readFileSync(join(ROOT, 'shim', 'supervise.sh'), 'utf8');
  const list = /^readonly handled_signals='([A-Z0-9 ]+)'$/m.exec(shim)?.[1];
  t.same(list?.split(' '), HANDLED_SIGNALS.map((signal) => signal.slice(3)));
});

// ---- as PID 1 ----------------------------------------------------------------------------------

function namespaceSkip(): string | false {
  if (process.getuid?.() !== 0) return 'needs root for unshare --pid';
  const probe = spawnSync('unshare', ['--pid', '--fork', '--mount-proc', '--kill-child', 'true'], { stdio: 'ignore' });
  return probe.status === 0 ? false : `unshare --pid --fork --mount-proc fails here (${probe.error?.message ?? `status ${probe.status}`})`;
}
const skip = namespaceSkip();
if (skip && process.env.CI === 'true') t.fail(`${skip} (a skip is a failure when CI=true)`);

/** `deputy supervise FLAGS -- COMMAND` as PID 1 of a new pid namespace, signalled by its host pid. */
function supervisePid1(t: Test, flags: readonly string[], command: readonly string[], env: NodeJS.ProcessEnv = {}): Child & { signal(signal: NodeJS.Signals): void } {
  const child = spawnChild(t, 'unshare', ['--pid', '--fork', '--mount-proc', '--kill-child', node, DEPUTY_BIN, 'supervise', ...flags, '--', ...command], env);
  const signal = (name: NodeJS.Signals): void => {
    const pid = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim();
    process.kill(Number(pid), name);
  };
  return { ...child, signal };
}

const terminatorApp = [node, join(FIXTURES, 'terminator-app.js')];
const signalsApp = [node, join(FIXTURES, 'signals-app.js')];

t.test('--stop-signal as PID 1: the stop signal sends terminate; a repeat is ignored; SIGINT still kills at once', { skip }, async (t) => {
  const app = supervisePid1(t, ['--stop-signal', 'SIGQUIT', '--stop-signal', '10'], terminatorApp, { DEPUTY_IPC_DIR: tempIpcDir(t), HOLD_CALLBACK: '1', EXIT_CODE: '5' });
  await app.waitForLog('registered');
  app.signal('SIGUSR1');
  await app.waitForLog('callback ran');
  app.signal('SIGQUIT');
  await app.waitForLog((r) => r.msg === 'termination already under way; signal ignored' && r.signal === 'SIGQUIT');
  app.signal('SIGUSR1');
  await app.waitForLog((r) => r.msg === 'termination already under way; signal ignored' && r.signal === 'SIGUSR1');
  app.signal('SIGINT');
  t.equal((await app.exited).status, 130, 'the second-press kill is SIGINT’s alone');
  t.equal(app.logs.filter((r) => r.msg === 'callback ran').length, 1, 'terminate was sent once');
});

t.test('--stop-signal adds to DEPUTY_STOP_SIGNALS (as PID 1)', { skip }, async (t) => {
  for (const signal of ['SIGHUP', 'SIGQUIT'] as const) {
    const app = supervisePid1(t, ['--stop-signal', 'QUIT'], terminatorApp, { DEPUTY_IPC_DIR: tempIpcDir(t), EXIT_CODE: '3', DEPUTY_STOP_SIGNALS: 'HUP' });
    await app.waitForLog('registered');
    app.signal(signal);
    t.equal((await app.exited).status, 3, `${signal} terminated the app through its socket`);
  }
});

t.test('--rewrite as PID 1: forwarded and fallback signals are rewritten; the flag wins over DEPUTY_REWRITE', { skip }, async (t) => {
  const app = supervisePid1(t, ['--rewrite', 'TERM:QUIT', '--rewrite', 'USR1:WINCH'], signalsApp, {
    DEPUTY_IPC_DIR: tempIpcDir(t),
    DEPUTY_REWRITE: 'TERM:USR2',
    EXIT_ON: 'SIGQUIT',
    ON_TERM: 'exit:6',
    DEPUTY_TIMEOUT: '5s',
  });
  await app.waitForLog('ready');
  app.signal('SIGUSR1');
  await app.waitForLog('got SIGWINCH');
  app.signal('SIGTERM');
  t.equal((await app.exited).status, 6, 'the child exited on SIGQUIT');
  t.notOk(app.logs.some((r) => r.msg === 'got SIGUSR2' || r.msg === 'got SIGTERM' || r.msg === 'got SIGUSR1'), 'nothing else reached it');
  t.ok(app.logs.some((r) => r.msg === 'terminate sent' && r.via === 'signal' && r.signal === 'SIGQUIT' && r.received === 'SIGTERM'), 'the log says what was sent for what');
});

t.test('bad flags as PID 1: exit 2 before the command starts', { skip }, async (t) => {
  const app = supervisePid1(t, ['--rewrite', 'TERM:QUIT', '--stop-signal', 'RTMIN'], ['sh', '-c', 'echo started']);
  t.equal((await app.exited).status, 2);
  t.ok(app.logs.some((r) => String(r.msg).includes("option '--stop-signal <signal>'")), 'names the flag');
  t.same(app.stdout, []);
});
