/**
 * Throwaway dependency servers for the check tests: PostgreSQL, Redis and memcached from the
 * distribution's packages, each on a free loopback port in its own temporary directory. Ready
 * when its own log line says so; stopped and restarted mid-test by pid; killed by pid at teardown.
 * When a server cannot be started the test is skipped with the reason — and fails under CI=true.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';

/** A free TCP port on 127.0.0.1 (bound and released; the servers bind it right after). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Skips the test with `reason`, or fails it when CI=true (CI must run every suite). */
export function unavailable(t: Test, what: string, reason: string): void {
  if (process.env.CI === 'true') t.fail(`${what} cannot be started under CI=true: ${reason}`);
  else t.skip(`${what} unavailable: ${reason}`, () => {});
}

/** A running (or stopped) server. */
export interface Service {
  readonly port: number;
  readonly dir: string;
  /** The server's pid while it runs. */
  readonly pid: number | undefined;
  /** Stops the server by pid and resolves once it has exited. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data, resolving once it is ready. */
  start(): Promise<void>;
}

interface Spec {
  readonly name: string;
  readonly command: string;
  readonly args: (port: number, dir: string) => string[];
  readonly ready: RegExp;
  readonly stopSignal: NodeJS.Signals;
  readonly uid?: number;
  readonly gid?: number;
}

function launch(spec: Spec, port: number, dir: string): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(spec.command, spec.args(port, dir), {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(spec.uid === undefined ? {} : { uid: spec.uid, gid: spec.gid! }),
    });
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${spec.name} did not log ${String(spec.ready)} within 30 s: ${output.slice(-500)}`));
    }, 30_000);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      if (spec.ready.test(output)) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        child.stderr!.off('data', onData);
        // Keep draining so the server never blocks on a full pipe.
        child.stdout!.resume();
        child.stderr!.resume();
        resolve(child);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${spec.name} exited (${code ?? signal}) before it was ready: ${output.slice(-500)}`));
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

async function startService(t: Test, spec: Spec, dir: string): Promise<Service> {
  const port = await freePort();
  let child: ChildProcess | undefined = await launch(spec, port, dir);
  t.teardown(async () => {
    if (child?.pid && child.exitCode === null && child.signalCode === null) {
      process.kill(child.pid, 'SIGKILL');
      await exited(child);
    }
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    port,
    dir,
    get pid() {
      return child?.pid;
    },
    async stop() {
      if (!child?.pid) return;
      const stopping = child;
      child = undefined;
      process.kill(stopping.pid!, spec.stopSignal);
      await exited(stopping);
    },
    async start() {
      if (child) return;
      child = await launch(spec, port, dir);
    },
  };
}

function which(command: string): string | undefined {
  const found = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim() : undefined;
}

function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Redis on a free port, no persistence. Undefined (test skipped/failed) when it cannot run. */
export async function startRedis(t: Test): Promise<Service | undefined> {
  const command = which('redis-server');
  if (!command) return void unavailable(t, 'redis-server', 'not installed (apt-get install redis-server)');
  try {
    return await startService(
      t,
      {
        name: 'redis-server',
        command,
        args: (port, dir) => ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--logfile', ''],
        ready: /Ready to accept connections/,
        stopSignal: 'SIGTERM',
      },
      tempDir('deputy-redis-'),
    );
  } catch (error) {
    return void unavailable(t, 'redis-server', (error as Error).message);
  }
}

/** memcached on a free port. */
export async function startMemcached(t: Test): Promise<Service | undefined> {
  const command = which('memcached');
  if (!command) return void unavailable(t, 'memcached', 'not installed (apt-get install memcached)');
  const user = process.getuid?.() === 0 ? ['-u', 'root'] : [];
  try {
    return await startService(
      t,
      {
        name: 'memcached',
        command,
        args: (port) => ['-p', String(port), '-l', '127.0.0.1', '-U', '0', '-m', '16', '-vv', ...user],
        ready: /server listening/,
        stopSignal: 'SIGTERM',
      },
      tempDir('deputy-memcached-'),
    );
  } catch (error) {
    return void unavailable(t, 'memcached', (error as Error).message);
  }
}

function postgresBin(name: string): string | undefined {
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    for (const version of readdirSync(root).sort((a, b) => Number(b) - Number(a))) {
      const candidate = join(root, version, 'bin', name);
      if (existsSync(candidate)) return candidate;
    }
  }
  return which(name);
}

function userIds(name: string): { uid: number; gid: number } | undefined {
  const uid = spawnSync('id', ['-u', name], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', name], { encoding: 'utf8' });
  if (uid.status !== 0 || gid.status !== 0) return undefined;
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/**
 * PostgreSQL: a fresh cluster (trust auth, user `postgres`) in a temporary directory. As root it
 * runs as the `postgres` user, since postgres refuses to run as root.
 */
export async function startPostgres(t: Test): Promise<Service | undefined> {
  const initdb = postgresBin('initdb');
  const postgres = postgresBin('postgres');
  if (!initdb || !postgres) return void unavailable(t, 'postgres', 'initdb/postgres not found (apt-get install postgresql)');
  let ids: { uid: number; gid: number } | undefined;
  const dir = tempDir('deputy-pg-');
  if (process.getuid?.() === 0) {
    ids = userIds('postgres');
    if (!ids) {
      rmSync(dir, { recursive: true, force: true });
      return void unavailable(t, 'postgres', 'running as root and there is no postgres user to run it as');
    }
    chownSync(dir, ids.uid, ids.gid);
  }
  const data = join(dir, 'data');
  const init = spawnSync(initdb, ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '--no-locale', '-E', 'UTF8'], {
    encoding: 'utf8',
    cwd: dir,
    timeout: 60_000,
    ...(ids ?? {}),
  });
  if (init.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    return void unavailable(t, 'postgres', `initdb failed: ${(init.stderr || init.error?.message || '').slice(-300)}`);
  }
  try {
    return await startService(
      t,
      {
        name: 'postgres',
        command: postgres,
        args: (port) => ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'shared_buffers=8MB'],
        ready: /database system is ready to accept connections/,
        // SIGINT is the fast shutdown: it does not wait for clients to disconnect.
        stopSignal: 'SIGINT',
        ...(ids ?? {}),
      },
      dir,
    );
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    return void unavailable(t, 'postgres', (error as Error).message);
  }
}
