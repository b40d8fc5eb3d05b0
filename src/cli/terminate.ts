/**
 * `deputy terminate [pid]`: the preStop hook. Sends `terminate` to the app's socket and, unless
 * `--no-wait`, holds a preStop marker while it waits for the app to exit, so that the supervisor
 * (or the shim) does not end the container under the hook (src/ipc/prestop.ts).
 */
import { UsageError } from '../contract/errors.js';
import { parseDuration } from '../contract/duration.js';
import { readEntrypointPid } from '../contract/protocol.js';
import { SETTINGS } from '../contract/settings.js';
import type { CommandModule, CommandSpec, ParsedCommandLine } from './command.js';

/** How long `deputy terminate` waits by default: the kubelet's default grace period. */
const DEFAULT_WAIT_MS = 30_000;

function parsePid(text: string): number {
  if (!/^[0-9]+$/.test(text) || Number(text) < 1) throw new UsageError(`${JSON.stringify(text)}: a pid is a positive integer`);
  return Number(text);
}

export const spec: CommandSpec = {
  name: 'terminate',
  summary: 'Ask a process to shut down gracefully (use as the Kubernetes preStop hook).',
  arguments: [{ name: 'pid', description: `process to terminate (default: the pid in $${SETTINGS.ipcDir.env}/deputy-entrypoint.pid, else 1)`, parse: parsePid }],
  options: [
    { name: 'wait', description: 'wait for the process to exit; --no-wait returns once terminate is sent' },
    { name: 'timeout', value: '<duration>', description: 'give up waiting after this long (exit 1)', defaultText: '30s', parse: parseDuration },
  ],
  settings: ['ipcDir', 'logLevel'],
  details: `
Exit status: 0 once the process is gone (or terminate was sent, with --no-wait);
1 when it could not be terminated (one line on stderr says why); 2 for usage errors.

Before it sends terminate it writes $${SETTINGS.ipcDir.env}/deputy-prestop.<its pid>, so that deputy
supervise (or supervise.sh) does not exit (ending the container) before this preStop hook returns;
the entrypoint removes it once this process has exited.

Durations are 500ms, 5s, 1m or a bare number of milliseconds.`,
};

async function run({ args, options }: ParsedCommandLine): Promise<number> {
  const { terminateAndWait } = await import('../ipc/terminate-sender.js');
  const target = (args.pid as number | undefined) ?? readEntrypointPid() ?? 1;
  const wait = options.wait !== false;
  const terminateOptions = { wait, timeoutMs: (options.timeout as number | undefined) ?? DEFAULT_WAIT_MS };
  if (!wait) {
    await terminateAndWait(target, terminateOptions, () => false);
    return 0;
  }
  // The preStop marker keeps the entrypoint from exiting under this hook: written before
  // terminate is sent, left for the entrypoint to remove once this process has exited
  // (the ordering invariant in src/ipc/prestop.ts).
  const { holdPreStopMarker } = await import('../ipc/prestop.js');
  const marker = holdPreStopMarker(target);
  await terminateAndWait(target, terminateOptions, () => marker.releasedByTarget());
  return 0;
}

export const command: CommandModule = { spec, run };
