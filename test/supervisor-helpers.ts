// Shared by the test/supervisor-*.test.ts suites: deputy supervise run as a real PID 1 under
// `unshare --pid --fork --mount-proc` (or as a plain child), signalled from outside the namespace,
// and deputy terminate run inside its namespaces with nsenter, as the kubelet runs a preStop exec.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { Test } from 'tap';
import { childrenOf, readProcStat } from '../src/contract/proc.js';
import { DEPUTY_BIN, FIXTURES, UNSHARE, pid1Unavailable as pid1UnavailableHere, spawnChild, tempIpcDir, type Child, type LogRecord } from './helpers.js';

export const NODE = process.execPath;

/** A real PID 1 here, and nsenter to look inside its namespace. */
export function pid1Unavailable(): string | undefined {
  const missing = pid1UnavailableHere();
  if (missing) return missing;
  const nsenter = spawnSync('nsenter', ['--version'], { encoding: 'utf8' });
  if (nsenter.error) return `nsenter is not available (${nsenter.error.message}); install util-linux`;
  return undefined;
}

/** Process state letter (R, S, Z, …), or undefined when gone. */
export const stateOf = (pid: number): string | undefined => readProcStat(pid)?.state;

export interface Supervised extends Child {
  /** The supervisor's pid as seen from the test (outside its namespace). */
  readonly supervisorPid: number;
  readonly dir: string;
  kill(signal: NodeJS.Signals): void;
}

interface SuperviseOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** Run as PID 1 of a new PID namespace (default) or as a plain child. */
  readonly pid1?: boolean;
  readonly cwd?: string;
}

/** Starts `deputy supervise …args` and resolves once it has logged its start. */
export async function supervise(t: Test, args: readonly string[], options: SuperviseOptions = {}): Promise<Supervised> {
  const { pid1 = true, cwd } = options;
  const dir = options.env?.DEPUTY_IPC_DIR ?? tempIpcDir(t);
  const env = { DEPUTY_IPC_DIR: dir, ...options.env };
  // UNSHARE has --kill-child: should a test end before it found PID 1, killing unshare (by pid)
  // ends the namespace.
  const command = [...(pid1 ? ['unshare', ...UNSHARE] : []), NODE, DEPUTY_BIN, 'supervise', ...args];
  const child =
    cwd === undefined
      ? spawnChild(t, command[0]!, command.slice(1), env)
      : spawnChild(t, '/bin/sh', ['-c', 'cd "$0" && exec "$@"', cwd, ...command], env);
  await child.waitForLog('supervisor started');
  // It has logged its start, so it ran; not finding it under unshare means it has already exited.
  const supervisorPid = pid1 ? (childrenOf(child.pid)[0] ?? 0) : child.pid;
  t.teardown(() => {
    try {
      if (supervisorPid !== 0) process.kill(supervisorPid, 'SIGKILL'); // as PID 1 this ends the whole namespace
    } catch {
      // exited
    }
  });
  const kill = (signal: NodeJS.Signals): void => {
    if (supervisorPid === 0) throw new Error(`the supervisor exited before the test could send ${signal}; logs: ${JSON.stringify(child.logs)}`);
    process.kill(supervisorPid, signal);
  };
  return { ...child, supervisorPid, dir, kill };
}

/** Runs `deputy terminate …` inside the supervisor's namespaces, as the kubelet runs a preStop exec. */
export function preStop(t: Test, supervised: Supervised, args: readonly string[] = []): Child {
  return spawnChild(t, 'nsenter', ['--target', String(supervised.supervisorPid), '--pid', '--mount', '--', NODE, DEPUTY_BIN, 'terminate', ...args], {
    DEPUTY_IPC_DIR: supervised.dir,
  });
}

export const fixture = (name: string): string => join(FIXTURES, name);
export const msgIs = (msg: string, fields: Record<string, unknown> = {}) => (record: LogRecord) =>
  record.msg === msg && Object.entries(fields).every(([key, value]) => record[key] === value);
