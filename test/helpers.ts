/**
 * Test helpers: real child processes whose pino JSON logs on stderr are parsed as they arrive,
 * so tests wait for a log line instead of sleeping. Every child is killed by pid at teardown.
 */
import { spawnSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';
import { childrenOf } from '../src/contract/proc.js';

export const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
export const FIXTURES = join(ROOT, 'test', 'fixtures');
export const DEPUTY_BIN = join(ROOT, 'bin', 'deputy.js');

export type LogRecord = Record<string, unknown> & { msg?: string; level?: string };

export interface Child {
  readonly process: ChildProcess;
  readonly pid: number;
  readonly logs: LogRecord[];
  readonly stdout: string[];
  /** Resolves with the first log record (already seen or future) matching `match`. */
  waitForLog(match: string | ((record: LogRecord) => boolean), timeoutMs?: number): Promise<LogRecord>;
  /** Resolves with the exit code, or 128+signal number when killed by a signal. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; status: number }>;
  send(line: string): void;
}

const SIGNAL_NUMBERS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGUSR1: 10, SIGUSR2: 12, SIGTERM: 15 };

/** A fresh IPC directory, removed at teardown. */
export function tempIpcDir(t: Test, prefix = 'deputy-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Sets an environment variable of this process; returns the function that restores it. */
export function setEnv(name: string, value: string): () => void {
  const before = process.env[name];
  process.env[name] = value;
  return () => {
    if (before === undefined) delete process.env[name];
    else process.env[name] = before;
  };
}

/** A fresh IPC directory that this process's DEPUTY_IPC_DIR points at until teardown. */
export function useIpcDir(t: Test): string {
  const dir = tempIpcDir(t);
  t.teardown(setEnv('DEPUTY_IPC_DIR', dir));
  return dir;
}

/** Spawns `command args`, parsing stderr lines as JSON log records; killed by pid at teardown. */
export function spawnChild(t: Test, command: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Child {
  const child = spawn(command, args, {
    env: { ...process.env, DEPUTY_LOG_LEVEL: 'debug', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const logs: LogRecord[] = [];
  const stdout: string[] = [];
  const waiters: Array<{ match: (r: LogRecord) => boolean; resolve: (r: LogRecord) => void }> = [];
  let buffered = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    let newline;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      let record: LogRecord;
      try {
        record = JSON.parse(line) as LogRecord;
      } catch {
        record = { msg: line, level: 'raw' };
      }
      logs.push(record);
      for (const waiter of [...waiters]) {
        if (waiter.match(record)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(record);
        }
      }
    }
  });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    let newline;
    while ((newline = out.indexOf('\n')) >= 0) {
      stdout.push(out.slice(0, newline));
      out = out.slice(newline + 1);
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; status: number }>((resolveExit) => {
    child.on('exit', (code, signal) => {
      const status = code ?? 128 + (SIGNAL_NUMBERS[signal ?? ''] ?? 0);
      for (const waiter of waiters.splice(0)) waiter.resolve({ msg: '<exited before the log line came>', level: 'missing' });
      resolveExit({ code, signal, status });
    });
  });
  // Supervisors and shells put the app in a process group of its own, so killing the direct child
  // alone could leave its descendants running after a failed test: kill the whole tree by pid.
  // Only while the child is unreaped: after that its pid may belong to someone else.
  t.teardown(() => {
    if (child.pid && child.exitCode === null && child.signalCode === null) killTree(child.pid);
  });
  const waitForLog = (match: string | ((record: LogRecord) => boolean), timeoutMs = 10_000): Promise<LogRecord> => {
    const test = typeof match === 'string' ? (r: LogRecord) => typeof r.msg === 'string' && r.msg.includes(match) : match;
    const seen = logs.find(test);
    if (seen) return Promise.resolve(seen);
    if (child.exitCode !== null || child.signalCode !== null) return Promise.reject(new Error(`process exited before log ${String(match)}; logs: ${JSON.stringify(logs)}`));
    return new Promise((resolveLog, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for log ${String(match)}; logs: ${JSON.stringify(logs)}`)), timeoutMs);
      waiters.push({
        match: test,
        resolve: (record) => {
          clearTimeout(timer);
          if (record.level === 'missing') reject(new Error(`process exited before log ${String(match)}; logs: ${JSON.stringify(logs)}`));
          else resolveLog(record);
        },
      });
    });
  };
  return {
    process: child,
    pid: child.pid!,
    logs,
    stdout,
    waitForLog,
    exited,
    send: (line) => void child.stdin!.write(`${line}\n`),
  };
}

/** Every descendant of `pid` (children first), read from /proc while they are still attached. */
export function descendantsOf(pid: number): number[] {
  const found: number[] = [];
  for (const child of childrenOf(pid)) found.push(child, ...descendantsOf(child));
  return found;
}

/** SIGKILLs `pid` and every descendant, by pid; the tree is read before anything is killed. */
export function killTree(pid: number): void {
  for (const target of [pid, ...descendantsOf(pid)]) {
    try {
      process.kill(target, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** Spawns a fixture script under test/fixtures with node. */
export function spawnFixture(t: Test, fixture: string, env: NodeJS.ProcessEnv = {}, args: readonly string[] = []): Child {
  return spawnChild(t, process.execPath, [join(FIXTURES, fixture), ...args], env);
}

/** Runs `deputy …` to completion (SIGKILLed, tree and all, after `timeoutMs`); returns status and output. */
export function runDeputy(args: readonly string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 60_000): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolveRun) => {
    const child = spawn(process.execPath, [DEPUTY_BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const timer = setTimeout(() => child.pid && child.exitCode === null && killTree(child.pid), timeoutMs);
    child.on('exit', () => clearTimeout(timer));
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('exit', (code, signal) => resolveRun({ status: code ?? 128 + (SIGNAL_NUMBERS[signal ?? ''] ?? 0), stdout, stderr }));
  });
}

/** Indices of the first records matching each message, for order assertions. */
export function logIndex(logs: readonly LogRecord[], msg: string): number {
  return logs.findIndex((r) => typeof r.msg === 'string' && r.msg.includes(msg));
}

/** `unshare` flags for a real PID 1; --kill-child: killing unshare (by pid) ends the namespace. */
export const UNSHARE = ['--pid', '--fork', '--mount-proc', '--kill-child'];

/** Why a command cannot run as a real PID 1 here (unshare --pid), or undefined when it can. */
export function pid1Unavailable(): string | undefined {
  if (process.platform !== 'linux') return 'needs Linux';
  if (process.getuid?.() !== 0) return 'needs root for unshare --pid';
  const probe = spawnSync('unshare', [...UNSHARE, 'true'], { encoding: 'utf8' });
  if (probe.error) return `unshare is not available (${probe.error.message}); install util-linux`;
  if (probe.status !== 0) return `unshare ${UNSHARE.join(' ')} failed: ${probe.stderr.trim()}`;
  return undefined;
}

/** Resolves once `line` is among the child's stdout lines; rejects after `timeoutMs` or at EOF. */
export function waitForStdout(child: Child, line: string, timeoutMs = 10_000): Promise<void> {
  if (child.stdout.includes(line)) return Promise.resolve();
  const stream = child.process.stdout!;
  return new Promise((resolve, reject) => {
    const finish = (error?: Error): void => {
      clearTimeout(timer);
      stream.off('data', onData);
      stream.off('close', onClose);
      if (error) reject(error);
      else resolve();
    };
    // spawnChild's own listener, added first, has already split the chunk into child.stdout
    const onData = (): void => {
      if (child.stdout.includes(line)) finish();
    };
    const onClose = (): void => finish(child.stdout.includes(line) ? undefined : new Error(`stdout closed before line ${line}; got ${JSON.stringify(child.stdout)}`));
    const timer = setTimeout(() => finish(new Error(`timed out waiting for stdout line ${line}; got ${JSON.stringify(child.stdout)}`)), timeoutMs);
    stream.on('data', onData);
    stream.on('close', onClose);
  });
}
