/**
 * Helpers for the fault-injection cases: a watched child (exit status, output, exit time and peak
 * memory, killed by pid at a hard deadline), TCP servers that misbehave on purpose, and waiting
 * for a condition with a bounded deadline instead of sleeping.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import type { Test } from 'tap';
import { childrenOf } from '../../src/contract/proc.js';
import { DEPUTY_BIN, UNSHARE, killTree, spawnChild, type Child } from '../helpers.js';

/** How a watched child ended. */
export interface Watched {
  /** Exit code, or 128 + signal number; -1 when it had to be killed at the hard deadline. */
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
  /** `Date.now()` when it exited. */
  readonly exitedAt: number;
  /** Wall time from spawn to exit, in milliseconds. */
  readonly wallMs: number;
  /** Peak resident memory (VmHWM) last seen while it ran, in KiB. */
  readonly peakRssKb: number;
}

/** VmHWM of `pid` in KiB, or undefined once it has exited. */
export function peakRssKb(pid: number): number | undefined {
  try {
    const match = /^VmHWM:\s+([0-9]+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** VmRSS of `pid` in KiB, or undefined once it has exited. */
export function rssKb(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+([0-9]+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Runs `command args` to its end, sampling its peak memory every 20 ms. Past `hardDeadlineMs` it
 * is SIGKILLed (tree and all, by pid) and reported with status -1: a hang fails the assertion on
 * the status instead of the whole run.
 */
export function runWatched(t: Test, command: string, args: readonly string[], env: NodeJS.ProcessEnv = {}, hardDeadlineMs = 15_000): Promise<Watched> {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const pid = child.pid!;
    let peak = 0;
    let killed = false;
    const sample = (): void => {
      peak = Math.max(peak, peakRssKb(pid) ?? 0);
    };
    const sampler = setInterval(sample, 20);
    const deadline = setTimeout(() => {
      killed = true;
      killTree(pid);
    }, hardDeadlineMs);
    t.teardown(() => {
      if (child.exitCode === null && child.signalCode === null) killTree(pid);
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('exit', (code, signal) => {
      const exitedAt = Date.now();
      clearInterval(sampler);
      clearTimeout(deadline);
      const status = killed ? -1 : (code ?? 128 + (signal === 'SIGKILL' ? 9 : signal === 'SIGTERM' ? 15 : 0));
      // Output may still be in flight after 'exit'; 'close' follows once the pipes are drained.
      child.on('close', () => resolve({ status, stdout, stderr, exitedAt, wallMs: exitedAt - started, peakRssKb: peak }));
    });
  });
}

/** A TCP server on a free loopback port that hands each connection to `onConnection`. */
export interface Hostile {
  readonly port: number;
  /** `Date.now()` of each accepted connection, in order. */
  readonly acceptedAt: number[];
}

/** Starts a TCP server whose connections get `onConnection`; closed, sockets destroyed, at teardown. */
export async function hostileServer(t: Test, onConnection: (socket: Socket) => void): Promise<Hostile> {
  const sockets = new Set<Socket>();
  const acceptedAt: number[] = [];
  const server: Server = createServer((socket) => {
    acceptedAt.push(Date.now());
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {}); // the probe resets connections it gave up on
    onConnection(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.close();
    for (const socket of sockets) socket.destroy();
  });
  return { port: (server.address() as { port: number }).port, acceptedAt };
}

/** Resolves once `condition()` holds, checking every `everyMs`; rejects with `what` after `timeoutMs`. */
export async function waitUntil(condition: () => boolean, timeoutMs: number, what: string, everyMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** Output lines (stdout then stderr), without the final empty string. */
export function outputLines(run: Pick<Watched, 'stdout' | 'stderr'>): string[] {
  return `${run.stdout}${run.stderr}`.split('\n').filter((line, index, all) => line !== '' || index < all.length - 1);
}

/**
 * Resolves with the child's exit status and how long after `since` it came, or status -1 when it
 * has not exited within `timeoutMs` (it is then SIGKILLed, tree and all, by pid).
 */
export async function exitWithin(child: Child, timeoutMs: number, since = Date.now()): Promise<{ status: number; afterMs: number }> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), Math.max(0, since + timeoutMs - Date.now()))));
  const outcome = await Promise.race([child.exited, late]);
  clearTimeout(timer);
  if (outcome === 'late') {
    killTree(child.pid);
    await child.exited;
    return { status: -1, afterMs: Date.now() - since };
  }
  const afterMs = Date.now() - since;
  // 'exit' can come before the last output: let stdout and stderr drain (unless a leftover
  // process still holds them open) before the caller reads the logs.
  const drained = (): boolean => [child.process.stdout, child.process.stderr].every((stream) => !stream || stream.destroyed || stream.readableEnded);
  await waitUntil(drained, 2000, 'the output to drain').catch(() => {});
  return { status: outcome.status, afterMs };
}


/** `deputy supervise` running as PID 1 of a new pid namespace. */
export interface Pid1 extends Child {
  /** The supervisor's pid as seen from the test (outside its namespace). */
  readonly supervisorPid: number;
  kill(signal: NodeJS.Signals): void;
}

/** Starts `deputy supervise …args` as PID 1 and resolves once it has logged its start. */
export async function superviseAsPid1(t: Test, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Pid1> {
  const child = spawnChild(t, 'unshare', [...UNSHARE, process.execPath, DEPUTY_BIN, 'supervise', ...args], env);
  await child.waitForLog('supervisor started');
  const supervisorPid = childrenOf(child.pid)[0] ?? 0;
  if (supervisorPid === 0) throw new Error(`the supervisor exited at once; logs: ${JSON.stringify(child.logs)}`);
  t.teardown(() => {
    // Once unshare has exited it has reaped the supervisor, whose pid may then be someone else's.
    if (child.process.exitCode !== null || child.process.signalCode !== null) return;
    try {
      process.kill(supervisorPid, 'SIGKILL'); // as PID 1 this ends the whole namespace
    } catch {
      // exited
    }
  });
  return { ...child, supervisorPid, kill: (signal) => process.kill(supervisorPid, signal) };
}
