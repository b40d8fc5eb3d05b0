/**
 * `deputy` — the command line. Each command loads its module only when it runs, so that
 * `deputy terminate` in a preStop hook starts fast.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { UsageError } from './errors.js';
import { parseDuration } from './duration.js';
import { exitStatusValue } from './supervise-args.js';
import { DEFAULT_TIMEOUT_EXIT_CODE, DEFAULT_TIMEOUT_MS, IPC_DIR_ENV, TIMEOUT_ENV, TIMEOUT_EXIT_CODE_ENV, readEntrypointPid } from './protocol.js';

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
    .enablePositionalOptions() // `deputy supervise -- cmd --flag`: options after the command are the command's
    .addHelpText(
      'after',
      `
Environment:
  ${IPC_DIR_ENV}            directory of the sockets and the entrypoint pid file (default /run)
  DEPUTY_LOG_LEVEL          trace, debug, info (default), warn, error, fatal or silent
  DEPUTY_HEALTH_CHECK_PORT  port that deputy probe connects to (default 8081)

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
1 when it could not be terminated (one line on stderr says why); 2 for usage errors.

Before it sends terminate it writes $${IPC_DIR_ENV}/deputy-prestop.<its pid>, so that deputy
supervise (or supervise.sh) does not exit (ending the container) before this preStop hook returns;
the entrypoint removes it once this process has exited.`,
    )
    .action(async (pid: number | undefined, options: { wait: boolean; timeout: number }) => {
      const { terminateAndWait } = await import('./terminator.js');
      try {
        const target = pid ?? readEntrypointPid() ?? 1;
        const terminateOptions = { wait: options.wait, timeoutMs: options.timeout };
        if (!options.wait) {
          await terminateAndWait(target, terminateOptions, () => false);
          return;
        }
        // The preStop marker keeps the entrypoint from exiting under this hook: written before
        // terminate is sent, left for the entrypoint to remove once this process has exited
        // (the ordering invariant in src/prestop.ts).
        const { holdPreStopMarker } = await import('./prestop.js');
        const marker = holdPreStopMarker(target);
        await terminateAndWait(target, terminateOptions, () => marker.releasedByTarget());
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

  addSuperviseCommand(program);
  addProbeCommand(program);
  return program;
}

function parseExitStatus(value: string): number {
  const status = exitStatusValue(value);
  if (status === undefined) throw new InvalidArgumentError('an exit status is an integer from 0 to 255');
  return status;
}

/**
 * `option.env(name)`, except while the variable is set to '': commander would parse '' (and reject
 * it), while the shim — and a Kubernetes `value: ""` meaning "not set" — takes the default.
 */
function envUnlessEmpty(option: Option, name: string): Option {
  return process.env[name] === '' ? option : option.env(name);
}

/** `deputy supervise`: the PID-1 supervisor (src/supervisor.ts). */
function addSuperviseCommand(program: Command): void {
  program
    .command('supervise')
    .description('Run a command as the container\'s init process (ENTRYPOINT): graceful termination, signal forwarding, zombie reaping.')
    .usage('[options] [--] <command> [args...]')
    .argument('<command>', 'the command to run (no shell; looked up in PATH)')
    .argument('[args...]', 'its arguments')
    .passThroughOptions()
    .addOption(
      envUnlessEmpty(
        new Option('--timeout <duration>', 'after SIGTERM/SIGINT, SIGKILL the child\'s process group if it still runs this long')
          .default(DEFAULT_TIMEOUT_MS, '25s')
          .argParser(durationOption('--timeout')),
        TIMEOUT_ENV,
      ),
    )
    .addOption(
      envUnlessEmpty(
        new Option('--timeout-exit-code <n>', 'exit status after the timeout killed the child (0-255)')
          .default(DEFAULT_TIMEOUT_EXIT_CODE)
          .argParser(parseExitStatus),
        TIMEOUT_EXIT_CODE_ENV,
      ),
    )
    .option('-g, --process-group', 'send forwarded signals (and the fallback SIGTERM) to the child\'s whole process group')
    .option('-s, --subreaper', 'when not PID 1, become a child subreaper so orphaned descendants are reaped and ended too')
    .addHelpText(
      'after',
      `
Termination: on SIGTERM or SIGINT the supervisor reads $${IPC_DIR_ENV}/deputy-entrypoint.pid at
that moment and sends "terminate" to that process's socket (the app may be a grandchild, e.g.
npm start -> node). With no pid file, no socket or a failed send it logs a warning and sends the
signal to the child instead. A second SIGINT kills at once (exit 130); a second SIGTERM is
logged and ignored. A "terminate" datagram to the supervisor's own socket (deputy terminate
with no pid file targets pid 1) starts the same sequence. A deputy terminate preStop hook
starts the timeout when it starts (the supervisor sees its marker in $${IPC_DIR_ENV}).

Signals forwarded to the child: HUP QUIT USR1 USR2 ALRM STKFLT CONT TSTP URG XCPU XFSZ VTALRM
PROF WINCH IO PWR. Not forwarded: KILL STOP (uncatchable), CHLD (reaping), TTIN TTOU PIPE (the
supervisor's own terminal and pipes), ILL TRAP ABRT BUS FPE SEGV SYS (crashes), real-time
signals (Node cannot catch them). SIGUSR1 never opens the supervisor's Node inspector.

When the child exits while other descendants live, they get SIGTERM, then SIGKILL once the
timeout (counted from the start of termination, else from the child's exit) runs out, or at
once on SIGINT; then the supervisor exits with the child's status. It also waits, within the same timeout, for a running
preStop hook (deputy terminate) so that the kubelet never sees the container exit under it.

As PID 1 the supervisor reaps orphaned zombies; elsewhere only with --subreaper.

Exit status: the child's status; 128+N when the child died of signal N; the --timeout-exit-code
after a timeout kill; 130 after a second SIGINT; 127 command not found; 126 not executable;
2 for usage errors.

Environment:
  ${TIMEOUT_ENV}            default of --timeout (a duration: 500ms, 5s, 1m or milliseconds)
  ${TIMEOUT_EXIT_CODE_ENV}  default of --timeout-exit-code
  ${IPC_DIR_ENV}            directory of the sockets and the entrypoint pid file (default /run)
  DEPUTY_LOG_LEVEL          trace, debug, info (default), warn, error, fatal or silent`,
    )
    .action(
      async (
        command: string,
        args: string[],
        options: { timeout: number; timeoutExitCode: number; processGroup?: boolean; subreaper?: boolean },
      ) => {
        const { supervise } = await import('./supervisor.js');
        const status = await supervise({
          command,
          args,
          timeoutMs: options.timeout,
          timeoutExitCode: options.timeoutExitCode,
          processGroup: options.processGroup ?? false,
          subreaper: options.subreaper ?? false,
        });
        // Exit now: as PID 1 nothing else may keep the container alive.
        process.exit(status);
      },
    );
}

/**
 * `deputy probe`: the exec probe. `bin/deputy.js` runs it through a fast path that skips
 * commander; this definition gives the same command its help and serves `main()` callers.
 */
function addProbeCommand(program: Command): void {
  program
    .command('probe')
    .description('Exec probe: GET a probe endpoint (or any status URL) and exit 0 healthy, 1 unhealthy, 2 unreachable.')
    .argument('[kind]', 'live, ready or startup: the same as --live, --ready or --startup')
    .option('--live', 'liveness: GET /livez')
    .option('--ready', 'readiness: GET /readyz')
    .option('--startup', 'startup: GET /startupz')
    .option('--url <url>', 'GET this URL instead (for status endpoints that always answer 200)')
    .option('--host <host>', 'health server host (default: $DEPUTY_HEALTH_CHECK_HOST, else 127.0.0.1; 0.0.0.0 and :: mean 127.0.0.1)')
    .option('--port <port>', 'health server port (default: $DEPUTY_HEALTH_CHECK_PORT, else 8081)')
    .option('--timeout <duration>', 'give up after this long: exit 1 if connected, else 2 (default: 1s)')
    .option('--expect-status <code>', 'healthy only with this status (default: any 2xx)')
    .option('--expect-body <regex>', 'healthy only when the body matches this JavaScript regular expression')
    .option('-q, --quiet', 'print nothing on stdout; only the exit status (errors still go to stderr)')
    .addHelpText(
      'after',
      `
Exactly one of --live, --ready, --startup (or live, ready, startup) or --url. With --url,
--host and --port do not apply.
Exit status: 0 healthy; 1 unhealthy (non-2xx or unexpected status, body mismatch, no answer
within --timeout); 2 unreachable, not HTTP, or bad input. One line on stdout says what was seen
(on stderr for exit 2).`,
    )
    .action(async (kind: string | undefined, flags: import('./probe-cli.js').ProbeFlags) => {
      const { probeCommand } = await import('./probe-cli.js');
      process.exitCode = await probeCommand({ ...flags, kind });
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
    return fail(program.args[0] ?? '', error);
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
