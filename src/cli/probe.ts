/**
 * `deputy probe`: the exec probe's front-end — options, validation, the one line it prints. It
 * runs every few seconds in every pod, so it loads only the contract and node:http
 * (src/cli/probe-run.ts does the request).
 */
import { parseDuration } from '../contract/duration.js';
import { UsageError } from '../contract/errors.js';
import { SETTINGS, settingText } from '../contract/settings.js';
import { PROBE_KIND_PATHS } from '../contract/probes.js';
import { PROBE_UNREACHABLE, runProbe, type ProbeTarget } from './probe-run.js';
import type { CommandModule, CommandSpec, ParsedCommandLine } from './command.js';

/** `deputy probe` flags as given (strings, not yet validated). */
export interface ProbeFlags {
  /** The positional form, `deputy probe ready` (as shim/probe.sh takes it): live, ready or startup. */
  readonly kind?: string;
  readonly live?: boolean;
  readonly ready?: boolean;
  readonly startup?: boolean;
  readonly url?: string;
  readonly host?: string;
  readonly port?: string;
  readonly timeout?: string;
  readonly expectStatus?: string;
  readonly expectBody?: string;
  readonly quiet?: boolean;
}

/** Where the probe asks when the health server binds every interface (or no host is set). */
const LOOPBACK = '127.0.0.1';

/**
 * The host to ask by default: the address the health server binds ($DEPUTY_HEALTH_CHECK_HOST),
 * as the same environment reaches both in a pod; a wildcard bind answers on loopback.
 */
function defaultHost(): string {
  const bound = settingText(SETTINGS.healthCheckHost);
  return !bound || bound === '0.0.0.0' || bound === '::' || bound === '[::]' ? LOOPBACK : bound;
}
const DEFAULT_TIMEOUT = '1s';

function isPort(value: string): boolean {
  return /^[0-9]+$/.test(value) && Number(value) >= 1 && Number(value) <= 65535;
}

/** Validates the flags into what to probe; throws `UsageError` naming the flag. */
function probeTargetOf(flags: ProbeFlags): ProbeTarget {
  if (flags.kind !== undefined && !Object.hasOwn(PROBE_KIND_PATHS, flags.kind)) {
    throw new UsageError(`what to probe is live, ready or startup, not ${JSON.stringify(flags.kind)}`);
  }
  const chosen = (['live', 'ready', 'startup', 'url'] as const).filter((name) => (flags[name] !== undefined && flags[name] !== false) || flags.kind === name);
  if (chosen.length === 0) throw new UsageError('say what to probe: --live, --ready, --startup or --url <url>');
  if (chosen.length > 1) throw new UsageError(`use only one of --live, --ready, --startup or --url (got ${chosen.map((name) => `--${name}`).join(' and ')})`);
  const timeoutMs = parseDuration(flags.timeout ?? DEFAULT_TIMEOUT, '--timeout');
  if (timeoutMs === 0) throw new UsageError('--timeout: must be longer than 0');
  let expectStatus: number | undefined;
  if (flags.expectStatus !== undefined) {
    if (!/^[1-5][0-9][0-9]$/.test(flags.expectStatus)) {
      throw new UsageError(`--expect-status: ${JSON.stringify(flags.expectStatus)} is not an HTTP status; an HTTP status is a number from 100 to 599`);
    }
    expectStatus = Number(flags.expectStatus);
  }
  let expectBody: RegExp | undefined;
  if (flags.expectBody !== undefined) {
    try {
      expectBody = new RegExp(flags.expectBody);
    } catch (error) {
      throw new UsageError(`--expect-body: invalid regular expression ${JSON.stringify(flags.expectBody)} (${(error as Error).message})`);
    }
  }
  const common = { expectStatus, expectBody, timeoutMs };
  if (flags.url !== undefined) {
    if (flags.port !== undefined || flags.host !== undefined) throw new UsageError('--host and --port do not apply with --url: put them in the URL');
    let url: URL;
    try {
      url = new URL(flags.url);
    } catch {
      throw new UsageError(`--url: ${JSON.stringify(flags.url)} is not a valid URL (e.g. http://127.0.0.1:8083/connectors/sink/status)`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--url: ${url.href} is not an http: or https: URL`);
    return { url, deputyEndpoint: false, ...common };
  }
  const envPort = settingText(SETTINGS.healthCheckPort);
  const PORT_ENV = SETTINGS.healthCheckPort.env;
  if (flags.port !== undefined && !isPort(flags.port)) {
    throw new UsageError(`--port: ${JSON.stringify(flags.port)} is not a port; a port is an integer from 1 to 65535`);
  }
  if (flags.port === undefined && envPort && !isPort(envPort)) {
    throw new UsageError(`${PORT_ENV}=${JSON.stringify(envPort)} is not a TCP port (1-65535): fix it or pass --port`);
  }
  const portNumber = Number(flags.port ?? envPort ?? SETTINGS.healthCheckPort.defaultValue);
  const hostName = flags.host ?? defaultHost();
  const host = hostName.includes(':') && !hostName.startsWith('[') ? `[${hostName}]` : hostName;
  const path = PROBE_KIND_PATHS[chosen[0] as keyof typeof PROBE_KIND_PATHS];
  let url: URL | undefined;
  try {
    url = new URL(`http://${host}:${portNumber}${path}`);
  } catch {
    // reported below
  }
  // A host holding '/', '?' or '#' would parse, but as some other URL.
  if (url === undefined || url.pathname !== path || (url.port || '80') !== String(portNumber)) {
    throw new UsageError(`--host: ${JSON.stringify(hostName)} is not a valid host name or address`);
  }
  return { url, deputyEndpoint: true, ...common };
}

/** Validates, probes and prints the one line; resolves with the exit status. */
export async function probeCommand(flags: ProbeFlags): Promise<number> {
  let target: ProbeTarget;
  try {
    target = probeTargetOf(flags);
  } catch (error) {
    process.stderr.write(`deputy probe: ${(error as Error).message}\n`);
    return PROBE_UNREACHABLE;
  }
  const outcome = await runProbe(target);
  if (outcome.status === PROBE_UNREACHABLE) process.stderr.write(`${outcome.line}\n`);
  else if (!flags.quiet) process.stdout.write(`${outcome.line}\n`);
  return outcome.status;
}

export const spec: CommandSpec = {
  name: 'probe',
  summary: 'Exec probe: GET a probe endpoint (or any status URL) and exit 0 healthy, 1 unhealthy, 2 unreachable.',
  arguments: [{ name: 'kind', description: 'live, ready or startup: the same as --live, --ready or --startup' }],
  options: [
    { name: 'live', description: `liveness: GET ${PROBE_KIND_PATHS.live}` },
    { name: 'ready', description: `readiness: GET ${PROBE_KIND_PATHS.ready}` },
    { name: 'startup', description: `startup: GET ${PROBE_KIND_PATHS.startup}` },
    { name: 'url', value: '<url>', description: 'GET this URL instead (for status endpoints that always answer 200)' },
    { name: 'host', value: '<host>', description: 'health server host; 0.0.0.0 and :: mean 127.0.0.1', defaultText: `$${SETTINGS.healthCheckHost.env}, else 127.0.0.1` },
    { name: 'port', value: '<port>', description: 'health server port', defaultText: `$${SETTINGS.healthCheckPort.env}, else ${SETTINGS.healthCheckPort.defaultText}` },
    { name: 'timeout', value: '<duration>', description: 'give up after this long: exit 1 if connected, else 2', defaultText: DEFAULT_TIMEOUT },
    { name: 'expect-status', value: '<code>', description: 'healthy only with this status', defaultText: 'any 2xx' },
    { name: 'expect-body', value: '<regex>', description: 'healthy only when the body matches this JavaScript regular expression' },
    { name: 'quiet', short: 'q', description: 'print nothing on stdout; only the exit status (errors still go to stderr)' },
  ],
  settings: ['healthCheckPort', 'healthCheckHost'],
  details: `
Exactly one of --live, --ready, --startup (or live, ready, startup) or --url. With --url,
--host and --port do not apply.
Exit status: 0 healthy; 1 unhealthy (non-2xx or unexpected status, body mismatch, no answer
within --timeout); 2 unreachable, not HTTP, or bad input. One line on stdout says what was seen
(on stderr for exit 2).`,
};

async function run({ args, options }: ParsedCommandLine): Promise<number> {
  return probeCommand({
    kind: args.kind as string | undefined,
    live: options.live as boolean | undefined,
    ready: options.ready as boolean | undefined,
    startup: options.startup as boolean | undefined,
    url: options.url as string | undefined,
    host: options.host as string | undefined,
    port: options.port as string | undefined,
    timeout: options.timeout as string | undefined,
    expectStatus: options['expect-status'] as string | undefined,
    expectBody: options['expect-body'] as string | undefined,
    quiet: options.quiet as boolean | undefined,
  });
}

export const command: CommandModule = { spec, run };
