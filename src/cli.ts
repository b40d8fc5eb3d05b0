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

  addLintCommand(program);

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

/** `deputy lint`: checks Kubernetes manifests (src/lint.ts, loaded only when the command runs). */
function addLintCommand(program: Command): void {
  program
    .command('lint')
    .description('Check Kubernetes manifests for termination timing and wiring mistakes, each with its fix.')
    .argument('<manifest...>', 'YAML files, multi-document (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, Pod, Rollout, List); - reads stdin')
    .addOption(new Option('--format <format>', 'text for people, json for CI').choices(['text', 'json']).default('text'))
    .option('--strict', 'exit 1 on warnings too')
    .addHelpText(
      'after',
      `
Rules (error unless marked warning):
  grace-period-budget              preStop sleep + DEPUTY_GRACE_PERIOD fit in terminationGracePeriodSeconds
  drain-delay-budget               DEPUTY_DRAIN_DELAY is shorter than DEPUTY_GRACE_PERIOD
  supervisor-timeout               preStop sleep + DEPUTY_TIMEOUT end before terminationGracePeriodSeconds
  supervisor-before-app-deadline   (warning) DEPUTY_TIMEOUT is not below DEPUTY_GRACE_PERIOD
  readiness-slower-than-drain      (warning) readiness periodSeconds x failureThreshold <= DEPUTY_DRAIN_DELAY
  liveness-uses-readiness          liveness does not probe the readiness endpoint
  command-overrides-entrypoint     command keeps deputy supervise (put the app in args)
  readonly-root-without-ipc-volume readOnlyRootFilesystem has a writable volume at /run (DEPUTY_IPC_DIR)
  missing-readiness-probe          serving containers have a readinessProbe
  missing-liveness-probe           (warning) serving containers have a livenessProbe
  no-deputy-container              (warning) some container of the pod uses k8s-deputy
  unknown-kind                     (warning) every object's kind is known (workloads are checked, others skipped)
  invalid-value                    durations and numbers can be read

Defaults assumed when unset: terminationGracePeriodSeconds 30, DEPUTY_DRAIN_DELAY 5s,
DEPUTY_GRACE_PERIOD 30s, DEPUTY_TIMEOUT 25s, probe periodSeconds 10 and failureThreshold 3.

Exit status: 0 no errors (warnings allowed unless --strict); 1 errors found;
2 usage errors or unreadable input (not YAML, not Kubernetes, no workload; one line on stderr).`,
    )
    .action(async (files: string[], options: { format: 'text' | 'json'; strict?: boolean }) => {
      const { lintManifest, countFindings, formatText } = await import('./lint.js');
      const { readFile } = await import('node:fs/promises');
      const results = [];
      try {
        for (const file of files) {
          let text: string;
          try {
            text = file === '-' ? await readStdin() : await readFile(file, 'utf8');
          } catch (error) {
            throw new UsageError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
          }
          results.push(lintManifest(text, file));
        }
      } catch (error) {
        process.stderr.write(`deputy lint: ${(error as Error).message}\n`);
        process.exitCode = EXIT_USAGE; // unreadable input is the caller's to fix, like a usage error
        return;
      }
      const counts = countFindings(results);
      process.stdout.write(options.format === 'json' ? `${JSON.stringify({ results, summary: counts }, null, 2)}\n` : formatText(results));
      process.exitCode = counts.errors > 0 || (options.strict === true && counts.warnings > 0) ? EXIT_FAILURE : 0;
    });
}

async function readStdin(): Promise<string> {
  let text = '';
  for await (const chunk of process.stdin) text += String(chunk);
  return text;
}
