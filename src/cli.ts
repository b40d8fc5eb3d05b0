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

  program
    .command('install-shim')
    .description('Install the bash entrypoint shim supervise.sh and the exec probe probe.sh into <dir>.')
    .argument('<dir>', 'destination directory, e.g. /usr/local/bin (created if missing)')
    .option('--force', 'replace a file at the destination that differs from the shipped script')
    .addHelpText(
      'after',
      `
Dockerfile:
  RUN npx deputy install-shim /usr/local/bin
  ENTRYPOINT ["/usr/local/bin/supervise.sh"]

Exit status: 0 once both scripts are in place (an identical file is left as it is);
1 when a different file is there without --force, or the directory is not writable; 2 for usage errors.`,
    )
    .action(async (dir: string, options: { force?: boolean }) => {
      const { installSuperviseShim } = await import('./shim.js');
      try {
        for (const { path, action } of installSuperviseShim(dir, { force: options.force === true })) {
          process.stdout.write(`${action} ${path}\n`);
        }
      } catch (error) {
        process.exitCode = fail('install-shim', error);
      }
    });

  return program;
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
