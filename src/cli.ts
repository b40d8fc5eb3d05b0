/**
 * `deputy` — the command line. Each command loads its module only when it runs, so that
 * `deputy terminate` in a preStop hook starts fast.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { DeputyError, UsageError } from './errors.js';
import { parseDuration } from './duration.js';
import { IPC_DIR_ENV } from './protocol.js';

/** Exit status for usage errors (unknown option, bad value, missing argument). */
export const EXIT_USAGE = 2;
/** Exit status when a command ran but failed; the one line on stderr says why. */
export const EXIT_FAILURE = 1;

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

/** A commander argument parser for durations whose error names the flag. */
export function durationOption(flag: string): (value: string) => number {
  return (value) => {
    try {
      return parseDuration(value, flag);
    } catch (error) {
      throw new InvalidArgumentError((error as Error).message.replace(`${flag}: `, ''));
    }
  };
}

function parsePid(value: string): number {
  if (!/^[0-9]+$/.test(value) || Number(value) < 1) throw new InvalidArgumentError('a pid is a positive integer');
  return Number(value);
}

/** Prints one line for a failed command and returns its exit status. */
function fail(command: string, error: unknown): number {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`deputy ${command}: ${message}\n`);
  return error instanceof UsageError ? EXIT_USAGE : EXIT_FAILURE;
}

export function buildProgram(): Command {
  const program = new Command('deputy')
    .description('Graceful termination for Node.js services in containers and Kubernetes.')
    .version(version, '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .addHelpText(
      'after',
      `
Environment:
  ${IPC_DIR_ENV}            directory of the sockets and the entrypoint pid file (default /run)
  DEPUTY_LOG_LEVEL          trace, debug, info (default), warn, error, fatal or silent
  DEPUTY_HEALTH_CHECK_PORT  port that deputy probe connects to (default 8081)

Durations are 500ms, 5s, 1m or a bare number of milliseconds.`,
    );

  program
    .command('terminate')
    .description('Ask a process to shut down gracefully (use as the Kubernetes preStop hook).')
    .argument('[pid]', 'process to terminate (default: the pid in $DEPUTY_IPC_DIR/deputy-entrypoint.pid, else 1)', parsePid)
    .option('--no-wait', 'return once terminate is sent instead of waiting for the process to exit')
    .addOption(
      new Option('--timeout <duration>', 'give up waiting after this long (exit 1)').default(30_000, '30s').argParser(durationOption('--timeout')),
    )
    .addHelpText(
      'after',
      `
Exit status: 0 once the process is gone (or terminate was sent, with --no-wait);
1 when it could not be terminated (one line on stderr says why); 2 for usage errors.`,
    )
    .action(async (pid: number | undefined, options: { wait: boolean; timeout: number }) => {
      const { gracefulTerminate } = await import('./terminator.js');
      try {
        await gracefulTerminate(pid, { wait: options.wait, timeoutMs: options.timeout });
      } catch (error) {
        process.exitCode = fail('terminate', error);
      }
    });

  addProbeCommand(program);
  return program;
}

/**
 * `deputy probe`: the exec probe. `bin/deputy.js` runs it through a fast path that skips
 * commander; this definition gives the same command its help and serves `main()` callers.
 */
function addProbeCommand(program: Command): void {
  program
    .command('probe')
    .description('Exec probe: GET a probe endpoint (or any status URL) and exit 0 healthy, 1 unhealthy, 2 unreachable.')
    .option('--live', 'liveness: GET /livez')
    .option('--ready', 'readiness: GET /readyz')
    .option('--startup', 'startup: GET /startupz')
    .option('--url <url>', 'GET this URL instead (for status endpoints that always answer 200)')
    .option('--host <host>', 'health server host (default: 127.0.0.1)')
    .option('--port <port>', 'health server port (default: $DEPUTY_HEALTH_CHECK_PORT, else 8081)')
    .option('--timeout <duration>', 'give up after this long: exit 1 if connected, else 2 (default: 1s)')
    .option('--expect-status <code>', 'healthy only with this status (default: any 2xx)')
    .option('--expect-body <regex>', 'healthy only when the body matches this JavaScript regular expression')
    .option('-q, --quiet', 'print nothing on stdout; only the exit status (errors still go to stderr)')
    .addHelpText(
      'after',
      `
Exactly one of --live, --ready, --startup or --url. With --url, --host and --port do not apply.
Exit status: 0 healthy; 1 unhealthy (non-2xx or unexpected status, body mismatch, no answer
within --timeout); 2 unreachable, not HTTP, or bad input. One line on stdout says what was seen
(on stderr for exit 2).`,
    )
    .action(async (flags: import('./probe-cli.js').ProbeFlags) => {
      const { probeCommand } = await import('./probe-cli.js');
      process.exitCode = await probeCommand(flags);
    });
}

/** Runs the CLI; resolves with the exit status instead of exiting, so callers decide. */
export async function main(argv: readonly string[] = process.argv): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv as string[]);
  } catch (error) {
    if (error instanceof CommanderError) {
      // help and version exit 0; every other commander error is a usage error
      return error.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    return fail(program.args[0] ?? '', error instanceof DeputyError ? error : error);
  }
  return typeof process.exitCode === 'number' ? process.exitCode : 0;
}
