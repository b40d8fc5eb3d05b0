/**
 * `deputy probe` options: parsing and validation, shared by the full CLI (commander, for
 * `--help`) and the fast path that `bin/deputy.js` takes for `deputy probe`, which skips loading
 * commander because exec probes run every few seconds and must start fast.
 */
import { parseArgs } from 'node:util';
import { parseDuration } from '../contract/duration.js';
import { UsageError } from '../contract/errors.js';
import { PROBE_KIND_PATHS, PROBE_UNREACHABLE, runProbe, type ProbeTarget } from './probe-run.js';

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

/** Same variables and port default as the Deputy's health server (deputy.ts), without loading the SDK. */
const PORT_ENV = 'DEPUTY_HEALTH_CHECK_PORT';
const HOST_ENV = 'DEPUTY_HEALTH_CHECK_HOST';
const DEFAULT_PORT = 8081;
/** Where the probe asks when the health server binds every interface (or no host is set). */
const LOOPBACK = '127.0.0.1';

/**
 * The host to ask by default: the address the health server binds ($DEPUTY_HEALTH_CHECK_HOST),
 * as the same environment reaches both in a pod; a wildcard bind answers on loopback.
 */
function defaultHost(): string {
  const bound = process.env[HOST_ENV];
  return !bound || bound === '0.0.0.0' || bound === '::' || bound === '[::]' ? LOOPBACK : bound;
}
const DEFAULT_TIMEOUT = '1s';

function isPort(value: string): boolean {
  return /^[0-9]+$/.test(value) && Number(value) >= 1 && Number(value) <= 65535;
}

/** Validates the flags into what to probe; throws `UsageError` naming the flag. */
export function probeTargetOf(flags: ProbeFlags): ProbeTarget {
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
  const envPort = process.env[PORT_ENV];
  if (flags.port !== undefined && !isPort(flags.port)) {
    throw new UsageError(`--port: ${JSON.stringify(flags.port)} is not a port; a port is an integer from 1 to 65535`);
  }
  if (flags.port === undefined && envPort && !isPort(envPort)) {
    throw new UsageError(`${PORT_ENV}=${JSON.stringify(envPort)} is not a TCP port (1-65535): fix it or pass --port`);
  }
  const portNumber = Number(flags.port ?? (envPort || DEFAULT_PORT));
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

/**
 * The fast path for `deputy probe <args>`: parses with node:util instead of commander. Help goes
 * to the full CLI. Resolves with the exit status.
 */
export async function probeMain(args: readonly string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    const { main } = await import('./main.js');
    return main([process.argv[0]!, process.argv[1]!, 'probe', ...args]);
  }
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...args],
      allowPositionals: true,
      strict: true,
      options: {
        live: { type: 'boolean' },
        ready: { type: 'boolean' },
        startup: { type: 'boolean' },
        url: { type: 'string' },
        host: { type: 'string' },
        port: { type: 'string' },
        timeout: { type: 'string' },
        'expect-status': { type: 'string' },
        'expect-body': { type: 'string' },
        quiet: { type: 'boolean', short: 'q' },
      },
    }));
  } catch (error) {
    // node:util's messages are long; keep the first sentence and point at --help.
    const message = (error as Error).message.split('. ')[0]!.replace(/^Unknown option/, 'unknown option');
    process.stderr.write(`deputy probe: ${message} (run deputy probe --help for usage)\n`);
    return PROBE_UNREACHABLE;
  }
  if (positionals.length > 1) {
    process.stderr.write(`deputy probe: too many arguments (${positionals.join(' ')}); say one of live, ready or startup (run deputy probe --help for usage)\n`);
    return PROBE_UNREACHABLE;
  }
  return probeCommand({
    kind: positionals[0],
    live: values.live as boolean | undefined,
    ready: values.ready as boolean | undefined,
    startup: values.startup as boolean | undefined,
    url: values.url as string | undefined,
    host: values.host as string | undefined,
    port: values.port as string | undefined,
    timeout: values.timeout as string | undefined,
    expectStatus: values['expect-status'] as string | undefined,
    expectBody: values['expect-body'] as string | undefined,
    quiet: values.quiet as boolean | undefined,
  });
}
