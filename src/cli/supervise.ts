/**
 * `deputy supervise` arguments without commander, for the well-formed case: the supervisor starts
 * on every container start and commander costs it ≈ 12 ms and 3 MB. Anything else — `--help`, an
 * unknown option, a bad value, a missing command — returns undefined and the full CLI
 * (src/cli.ts) handles it, so messages and exit statuses are the same either way.
 */
import { parseDuration } from '../contract/duration.js';
import { DEFAULT_TIMEOUT_EXIT_CODE, DEFAULT_TIMEOUT_MS, TIMEOUT_ENV, TIMEOUT_EXIT_CODE_ENV } from '../contract/protocol.js';
import type { SuperviseOptions } from '../supervisor/types.js';

/** An exit status 0-255 written in decimal, or undefined. */
export function exitStatusValue(value: string): number | undefined {
  return /^[0-9]{1,3}$/.test(value) && Number(value) <= 255 ? Number(value) : undefined;
}

function durationValue(value: string): number | undefined {
  try {
    return parseDuration(value, '--timeout');
  } catch {
    return undefined;
  }
}

/** The options of `deputy supervise <argv…>`, or undefined when the full CLI must decide. */
export function parseSuperviseArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): SuperviseOptions | undefined {
  // An empty variable counts as unset, as in the shim and ipcDir() (src/cli.ts does the same)
  const timeoutText = env[TIMEOUT_ENV];
  const exitCodeText = env[TIMEOUT_EXIT_CODE_ENV];
  let timeoutMs = timeoutText === undefined || timeoutText === '' ? DEFAULT_TIMEOUT_MS : durationValue(timeoutText);
  let timeoutExitCode = exitCodeText === undefined || exitCodeText === '' ? DEFAULT_TIMEOUT_EXIT_CODE : exitStatusValue(exitCodeText);
  let processGroup = false;
  let subreaper = false;
  let index = 0;
  for (; index < argv.length; index += 1) {
    const arg = argv[index]!;
    if (arg === '--') {
      index += 1;
      break;
    }
    if (!arg.startsWith('-') || arg === '-') break;
    const [name, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    if (name === '--timeout' || name === '--timeout-exit-code') {
      const value = inline ?? argv[++index];
      if (value === undefined) return undefined;
      if (name === '--timeout') timeoutMs = durationValue(value);
      else timeoutExitCode = exitStatusValue(value);
    } else if ((name === '-g' || name === '--process-group') && inline === undefined) {
      processGroup = true;
    } else if ((name === '-s' || name === '--subreaper') && inline === undefined) {
      subreaper = true;
    } else {
      return undefined;
    }
  }
  const [command, ...args] = argv.slice(index);
  if (command === undefined || timeoutMs === undefined || timeoutExitCode === undefined) return undefined;
  return { command, args, timeoutMs, timeoutExitCode, processGroup, subreaper };
}
