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

function parsePort(value: string): number {
  if (!/^[0-9]+$/.test(value) || Number(value) < 1 || Number(value) > 65535) throw new InvalidArgumentError('a port is an integer from 1 to 65535');
  return Number(value);
}

function parseStatus(value: string): number {
  if (!/^[1-5][0-9][0-9]$/.test(value)) throw new InvalidArgumentError('an HTTP status is a number from 100 to 599');
  return Number(value);
}

/** `deputy probe`: the exec probe. Validation happens here; the request is made by ./probe.js. */
function addProbeCommand(program: Command): void {
  const targets = ['live', 'ready', 'startup', 'url'];
  const target = (flag: string, name: string, description: string): Option =>
    new Option(flag, description).conflicts(targets.filter((other) => other !== name));
  program
    .command('probe')
    .description('Exec probe: GET a probe endpoint (or any status URL) and exit 0 healthy, 1 unhealthy, 2 unreachable.')
    .addOption(target('--live', 'live', 'liveness: GET /livez'))
    .addOption(target('--ready', 'ready', 'readiness: GET /readyz'))
    .addOption(target('--startup', 'startup', 'startup: GET /startupz'))
    .addOption(target('--url <url>', 'url', 'GET this URL instead (for status endpoints that always answer 200)'))
    .option('--host <host>', 'health server host', '127.0.0.1')
    .addOption(new Option('--port <port>', 'health server port (default: $DEPUTY_HEALTH_CHECK_PORT, else 8081)').argParser(parsePort))
    .addOption(
      new Option('--timeout <duration>', 'give up after this long (exit 1 if connected, else 2)').default(1000, '1s').argParser(durationOption('--timeout')),
    )
    .addOption(new Option('--expect-status <code>', 'healthy only with this status (default: any 2xx)').argParser(parseStatus))
    .option('--expect-body <regex>', 'healthy only when the body matches this JavaScript regular expression')
    .option('-q, --quiet', 'print nothing on stdout; only the exit status (errors still go to stderr)')
    .addHelpText(
      'after',
      `
Exactly one of --live, --ready, --startup or --url. With --url, --host and --port do not apply.
Exit status: 0 healthy; 1 unhealthy (non-2xx or unexpected status, body mismatch, no answer
within --timeout); 2 unreachable, not HTTP, or bad input. One line on stdout says what was seen.`,
    )
    .action(async (options: ProbeCliOptions) => {
      try {
        const probeTarget = probeTargetOf(options);
        const { runProbe } = await import('./probe.js');
        const outcome = await runProbe(probeTarget);
        if (outcome.status === 2) process.stderr.write(`${outcome.line}\n`);
        else if (!options.quiet) process.stdout.write(`${outcome.line}\n`);
        process.exitCode = outcome.status;
      } catch (error) {
        process.exitCode = fail('probe', error);
      }
    });
}

interface ProbeCliOptions {
  live?: true;
  ready?: true;
  startup?: true;
  url?: string;
  host: string;
  port?: number;
  timeout: number;
  expectStatus?: number;
  expectBody?: string;
  quiet?: true;
}

function probeTargetOf(options: ProbeCliOptions): import('./probe.js').ProbeTarget {
  const kind = options.live ? 'live' : options.ready ? 'ready' : options.startup ? 'startup' : undefined;
  if (kind === undefined && options.url === undefined) throw new UsageError('say what to probe: --live, --ready, --startup or --url <url>');
  let expectBody: RegExp | undefined;
  if (options.expectBody !== undefined) {
    try {
      expectBody = new RegExp(options.expectBody);
    } catch (error) {
      throw new UsageError(`--expect-body: invalid regular expression ${JSON.stringify(options.expectBody)} (${(error as Error).message})`);
    }
  }
  const common = { expectStatus: options.expectStatus, expectBody, timeoutMs: options.timeout };
  if (options.url !== undefined) {
    if (options.port !== undefined || options.host !== '127.0.0.1') throw new UsageError('--host and --port do not apply with --url: put them in the URL');
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      throw new UsageError(`--url: ${JSON.stringify(options.url)} is not a valid URL (e.g. http://127.0.0.1:8083/connectors/sink/status)`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--url: ${url.href} is not an http: or https: URL`);
    return { url, deputyEndpoint: false, ...common };
  }
  // Same variable and default as the Deputy's health server (deputy.ts), read here without
  // loading the SDK so that the probe starts fast.
  const envPort = process.env.DEPUTY_HEALTH_CHECK_PORT;
  let port = options.port;
  if (port === undefined && envPort) {
    try {
      port = parsePort(envPort);
    } catch {
      throw new UsageError(`DEPUTY_HEALTH_CHECK_PORT=${JSON.stringify(envPort)} is not a TCP port (1-65535): fix it or pass --port`);
    }
  }
  const host = options.host.includes(':') && !options.host.startsWith('[') ? `[${options.host}]` : options.host;
  let url: URL;
  try {
    url = new URL(`http://${host}:${port ?? 8081}${PROBE_PATH[kind!]}`);
  } catch {
    throw new UsageError(`--host: ${JSON.stringify(options.host)} is not a valid host name or address`);
  }
  return { url, deputyEndpoint: true, ...common };
}

// Mirrors PROBE_KIND_PATHS in probe.ts, which is loaded only once the input is valid.
const PROBE_PATH = { live: '/livez', ready: '/readyz', startup: '/startupz' } as const;

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
