// deputy supervise's interface: --help and usage errors (exit 2) through the real command, the
// one parser for flags and variables, and its pino-free logger's records against the SDK's.
import t from 'tap';
import { join } from 'node:path';
import { spec, superviseOptions } from '../src/cli/supervise.js';
import { parseCommandLine } from '../src/cli/command.js';
import { spawnSync } from 'node:child_process';
import { DEPUTY_BIN, FIXTURES, runDeputy, spawnChild, tempIpcDir, type LogRecord } from './helpers.js';
import { unavailable } from './servers.js';
import { NODE } from './supervisor-helpers.js';

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

t.test('on a terminal the records are readable lines; a signal death is 128 + its number', async (t) => {
  // `script` gives the supervisor a pseudo-terminal for stderr; the logger decides at its first line.
  const command = `${NODE} ${DEPUTY_BIN} supervise -- sh -c 'kill -USR2 $$'`;
  const run = spawnSync('script', ['-qec', command, '/dev/null'], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, DEPUTY_IPC_DIR: tempIpcDir(t) } });
  if (run.error !== undefined) return unavailable(t, 'script (util-linux)', run.error.message);
  t.equal(run.status, 128 + 12, 'the child died of SIGUSR2 (12): 140');
  t.match(run.stdout, /^\d\d:\d\d:\d\d\.\d{3} INFO {2}\[\d+\] child exited component=supervisor .*signal=SIGUSR2 status=140/m);
  t.notMatch(run.stdout, /"level"/, 'no JSON on a terminal');
});
