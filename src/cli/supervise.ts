/**
 * `deputy supervise [options] [--] <command> [args...]`: the container's init process
 * (src/supervisor/). Its start-up is on every container start, so this front-end loads only the
 * contract and the supervisor.
 */
import { parseDuration } from '../contract/duration.js';
import { FORWARDED_SIGNALS, NOT_FORWARDED_SIGNALS, parseRewrite, parseRewrites, parseStopSignal, parseStopSignals, type SignalRewrite } from '../contract/signals.js';
import { SETTINGS, settingText } from '../contract/settings.js';
import { parseExitStatus, type CommandModule, type CommandSpec, type ParsedCommandLine } from './command.js';
import type { SuperviseOptions } from '../supervisor/types.js';

const short = (signals: readonly string[]): string => signals.map((signal) => signal.replace(/^SIG/, '')).join(' ');

export const spec: CommandSpec = {
  name: 'supervise',
  summary: "Run a command as the container's init process (ENTRYPOINT): graceful termination, signal forwarding, zombie reaping.",
  arguments: [
    { name: 'command', description: 'the command to run (no shell; looked up in PATH)', required: true },
    { name: 'args', description: 'its arguments', variadic: true },
  ],
  passThrough: true,
  options: [
    {
      name: 'timeout',
      value: '<duration>',
      description: "after SIGTERM/SIGINT/a stop signal, SIGKILL the child's process group if it still runs this long",
      defaultText: `$${SETTINGS.timeout.env}, else ${SETTINGS.timeout.defaultText}`,
      parse: parseDuration,
    },
    {
      name: 'timeout-exit-code',
      value: '<n>',
      description: 'exit status after the timeout killed the child (0-255)',
      defaultText: `$${SETTINGS.timeoutExitCode.env}, else ${SETTINGS.timeoutExitCode.defaultText}`,
      parse: parseExitStatus,
    },
    {
      name: 'stop-signal',
      value: '<signal>',
      description: `another signal that starts graceful termination exactly like SIGTERM (SIGQUIT, QUIT or 3), for an image STOPSIGNAL or lifecycle.stopSignal; adds to $${SETTINGS.stopSignals.env}`,
      repeatable: true,
      parse: parseStopSignal,
    },
    {
      name: 'rewrite',
      value: '<from>:<to>',
      description: `change a signal on its way to the child, as dumb-init's --rewrite (TERM:QUIT, 15:3; to 0 drops it); after $${SETTINGS.rewrite.env}'s pairs`,
      repeatable: true,
      parse: parseRewrite,
    },
    { name: 'process-group', short: 'g', description: "send forwarded signals (and the fallback signal) to the child's whole process group" },
    { name: 'subreaper', short: 's', description: 'when not PID 1, become a child subreaper so orphaned descendants are reaped and ended too' },
  ],
  settings: ['timeout', 'timeoutExitCode', 'stopSignals', 'rewrite', 'ipcDir', 'logLevel'],
  details: `
Termination: on SIGTERM, SIGINT or a stop signal the supervisor reads $${SETTINGS.ipcDir.env}/deputy-entrypoint.pid at
that moment and sends "terminate" to that process's socket (the app may be a grandchild, e.g.
npm start -> node). With no pid file, no socket or a failed send it logs a warning and sends the
signal to the child instead. A second SIGINT kills at once (exit 130); a second SIGTERM (or
stop signal) is logged and ignored. A "terminate" datagram to the supervisor's own socket (deputy terminate
with no pid file targets pid 1) starts the same sequence. A deputy terminate preStop hook
starts the timeout when it starts (the supervisor sees its marker in $${SETTINGS.ipcDir.env}).

Stop signals (--stop-signal, $${SETTINGS.stopSignals.env}): for a container stopped with another
signal than SIGTERM (the image's STOPSIGNAL, docker --stop-signal, a pod's lifecycle.stopSignal),
that signal does what SIGTERM does. Any forwarded signal may be one.

Rewrites (--rewrite, $${SETTINGS.rewrite.env}) change what the child gets for a received signal:
a forwarded signal, and the signal sent when "terminate" cannot be (--rewrite TERM:QUIT: nginx
gets SIGQUIT, its graceful stop). They do not change which signals start termination, nor the
SIGTERM to leftover processes or the timeout's SIGKILL. <to> may be any signal; 0 drops it.

Signals forwarded to the child: ${short(FORWARDED_SIGNALS)}.
Not forwarded: ${short(NOT_FORWARDED_SIGNALS)} (uncatchable, reaping, the supervisor's own terminal
and pipes, crashes), and real-time signals (Node cannot catch them). SIGUSR1 never opens the
supervisor's Node inspector.

When the child exits while other descendants live, they get SIGTERM, then SIGKILL once the
timeout (counted from the start of termination, else from the child's exit) runs out, or at
once on SIGINT; then the supervisor exits with the child's status. It also waits, within the
same timeout, for a running preStop hook (deputy terminate) so that the kubelet never sees the
container exit under it.

As PID 1 the supervisor reaps orphaned zombies; elsewhere only with --subreaper.

Exit status: the child's status; 128+N when the child died of signal N; the --timeout-exit-code
after a timeout kill; 130 after a second SIGINT; 127 command not found; 126 not executable;
2 for usage errors.

Durations are 500ms, 5s, 1m or a bare number of milliseconds.`,
};

/** The supervisor's options from a parsed command line and the environment; throws UsageError. */
export function superviseOptions({ args, options }: ParsedCommandLine, env: NodeJS.ProcessEnv = process.env): SuperviseOptions {
  const timeoutText = settingText(SETTINGS.timeout, env);
  const exitCodeText = settingText(SETTINGS.timeoutExitCode, env);
  const stopSignalsText = settingText(SETTINGS.stopSignals, env);
  const rewriteText = settingText(SETTINGS.rewrite, env);
  // The flags add to the variables; a --rewrite pair wins over the variable's for the same signal.
  const stopSignals = [...new Set([...(stopSignalsText === undefined ? [] : parseStopSignals(stopSignalsText, SETTINGS.stopSignals.env)), ...((options['stop-signal'] as NodeJS.Signals[] | undefined) ?? [])])];
  const rewrite = {
    ...(rewriteText === undefined ? {} : parseRewrites(rewriteText, SETTINGS.rewrite.env)),
    ...Object.fromEntries((options.rewrite as Array<[NodeJS.Signals, SignalRewrite]> | undefined) ?? []),
  };
  return {
    command: args.command as string,
    args: args.args as string[],
    timeoutMs: (options.timeout as number | undefined) ?? (timeoutText === undefined ? SETTINGS.timeout.defaultValue : parseDuration(timeoutText, SETTINGS.timeout.env)),
    timeoutExitCode:
      (options['timeout-exit-code'] as number | undefined) ??
      (exitCodeText === undefined ? SETTINGS.timeoutExitCode.defaultValue : parseExitStatus(exitCodeText, SETTINGS.timeoutExitCode.env)),
    processGroup: options['process-group'] === true,
    subreaper: options.subreaper === true,
    // Only when set, so the options read as the command line did.
    ...(stopSignals.length > 0 ? { stopSignals } : {}),
    ...(Object.keys(rewrite).length > 0 ? { rewrite } : {}),
  };
}

async function run(parsed: ParsedCommandLine): Promise<number> {
  const options = superviseOptions(parsed);
  const { supervise } = await import('../supervisor/supervision.js');
  // Exit now: as PID 1 nothing else may keep the container alive.
  process.exit(await supervise(options));
}

export const command: CommandModule = { spec, run };
