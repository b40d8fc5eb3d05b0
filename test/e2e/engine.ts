/**
 * A private Docker engine for the end-to-end tests. It installs nothing: it starts `dockerd` from
 * the docker.io package with its own data, exec root, pid file and socket (no bridge, no iptables,
 * vfs storage), imports a base image from a root filesystem made of the host's node binary and the
 * libraries ldd lists (no registry is needed), builds examples/Dockerfile on it, and at teardown
 * removes every container it ran and stops the daemon — all by id and pid, never by name. What
 * goes into the images: image.ts.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import { spawnChild, type Child } from '../helpers.js';
import { buildContext, buildRootfs } from './image.js';

/** The engine's own CLI; another docker CLI may come first on PATH. */
const DOCKER_CLI = '/usr/bin/docker';
const DAEMON_CANDIDATES = ['/usr/bin/dockerd', '/usr/sbin/dockerd'];
export const BASE_IMAGE = 'deputy-e2e-base:1';
export const APP_IMAGE = 'deputy-e2e-app:1';

export interface Exec {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to completion, bounded by `timeoutMs` (then SIGKILLed by pid). */
export function exec(command: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; input?: NodeJS.ReadableStream; timeoutMs?: number } = {}): Promise<Exec> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env: options.env ?? process.env, stdio: [options.input ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    if (options.input) options.input.pipe(child.stdin!);
    const timer = setTimeout(() => {
      stderr += `\n(killed after ${options.timeoutMs} ms)`;
      if (child.pid) process.kill(child.pid, 'SIGKILL');
    }, options.timeoutMs ?? 60_000);
    child.on('error', (error) => {
      clearTimeout(timer);
      resolve({ status: 127, stdout, stderr: `${stderr}${error.message}` });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ status: code ?? (signal === 'SIGKILL' ? 137 : 128), stdout, stderr });
    });
  });
}

export interface Engine {
  /** Runs the engine's CLI against the private daemon. */
  docker(args: readonly string[], timeoutMs?: number): Promise<Exec>;
  /** `docker run -d …`: returns the container id; the container is removed by id at `t`'s teardown (and at the engine's, at the latest). */
  run(t: Test, args: readonly string[]): Promise<string>;
  /** Follows a container's logs; its pino lines (on stderr) are parsed as they come. */
  logs(t: Test, id: string): Child;
  /** Exit status of a stopped container (`docker wait`). */
  wait(id: string): Promise<number>;
}

/** Mount points under `dir`, deepest first (from /proc/self/mounts, octal escapes decoded). */
function mountsUnder(dir: string): string[] {
  let table = '';
  try {
    table = readFileSync('/proc/self/mounts', 'utf8');
  } catch {
    return [];
  }
  return table
    .split('\n')
    .map((line) => (line.split(' ')[1] ?? '').replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8))))
    .filter((mount) => mount.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

/** Why the engine cannot run here, or undefined when it can be tried. */
function unavailable(): string | undefined {
  if (process.platform !== 'linux') return 'the Docker engine tests run on Linux only';
  if (process.getuid?.() !== 0) return 'starting a private dockerd needs root';
  if (!existsSync(DOCKER_CLI)) return `${DOCKER_CLI} is missing: apt-get install docker.io`;
  if (!DAEMON_CANDIDATES.some((path) => existsSync(path))) return 'dockerd is missing: apt-get install docker.io';
  return undefined;
}

/**
 * Starts a private engine with the base and example images built, or returns why it cannot.
 * `extraFiles` are copied next to the example apps in the image's /app.
 */
export async function startEngine(t: Test, extraFiles: readonly string[] = []): Promise<Engine | string> {
  const reason = unavailable();
  if (reason) return reason;
  const began = Date.now();
  const phases: string[] = [];
  const phase = (name: string): void => void phases.push(`${name} ${((Date.now() - began) / 1000).toFixed(1)} s`);
  const dir = mkdtempSync(join(tmpdir(), 'deputy-e2e-'));
  const socket = join(dir, 'docker.sock');
  const env = { ...process.env, DOCKER_HOST: `unix://${socket}`, DOCKER_BUILDKIT: '0' };
  const containers: string[] = [];
  const daemonPath = DAEMON_CANDIDATES.find((path) => existsSync(path))!;
  const daemon: ChildProcess = spawn(
    daemonPath,
    [
      '--data-root', join(dir, 'data'),
      '--exec-root', join(dir, 'exec'),
      '--pidfile', join(dir, 'dockerd.pid'),
      '-H', `unix://${socket}`,
      '--iptables=false', '--ip6tables=false', '--bridge=none',
      '--storage-driver', 'vfs',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const daemonLog: string[] = [];
  let listening: () => void = () => {};
  const ready = new Promise<void>((resolve) => (listening = resolve));
  let buffered = '';
  daemon.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    for (let i; (i = buffered.indexOf('\n')) >= 0; ) {
      const line = buffered.slice(0, i);
      buffered = buffered.slice(i + 1);
      daemonLog.push(line);
      if (line.includes('API listen on')) listening();
    }
  });
  const daemonExited = new Promise<void>((resolve) => daemon.on('exit', () => resolve()));

  const docker = (args: readonly string[], timeoutMs = 60_000): Promise<Exec> => exec(DOCKER_CLI, args, { env, timeoutMs });

  t.teardown(async () => {
    for (const id of containers) await docker(['rm', '-f', '-v', id], 30_000);
    if (daemon.exitCode === null && daemon.signalCode === null && daemon.pid) {
      process.kill(daemon.pid, 'SIGTERM');
      const timer = setTimeout(() => daemon.pid && daemon.exitCode === null && process.kill(daemon.pid, 'SIGKILL'), 15_000);
      await daemonExited;
      clearTimeout(timer);
    }
    // dockerd stops its containerd on exit; make sure, by the pid it recorded.
    try {
      const pid = Number(readFileSync(join(dir, 'exec', 'containerd', 'containerd.pid'), 'utf8'));
      if (pid > 1) process.kill(pid, 'SIGKILL');
    } catch {
      // gone with its pid file
    }
    // dockerd leaves its network namespace bind-mounted under the exec root.
    for (const mount of mountsUnder(dir)) spawnSync('umount', ['-l', mount]);
    rmSync(dir, { recursive: true, force: true });
  });

  const started = await Promise.race([
    ready.then(() => 'ready' as const),
    daemonExited.then(() => 'exited' as const),
    new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 30_000).unref()),
  ]);
  if (started !== 'ready') {
    return `the private dockerd ${started === 'exited' ? 'exited' : 'did not listen within 30 s'}: ${daemonLog.slice(-3).join(' | ') || 'no output'}`;
  }

  phase('daemon up');
  const rootfs = join(dir, 'rootfs');
  buildRootfs(rootfs);
  const tar = spawn('tar', ['-C', rootfs, '-c', '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const imported = await exec(DOCKER_CLI, ['import', '-', BASE_IMAGE], { env, input: tar.stdout!, timeoutMs: 60_000 });
  if (tar.exitCode === null && tar.signalCode === null && tar.pid) process.kill(tar.pid, 'SIGKILL');
  rmSync(rootfs, { recursive: true, force: true });
  if (imported.status !== 0) return `docker import of the base image failed: ${imported.stderr.trim()}`;

  phase('base imported');
  const context = join(dir, 'context');
  buildContext(context, extraFiles);
  const built = await docker(['build', '-q', '--build-arg', `BASE=${BASE_IMAGE}`, '-t', APP_IMAGE, context], 120_000);
  rmSync(context, { recursive: true, force: true });
  if (built.status !== 0) throw new Error(`docker build of examples/Dockerfile failed: ${built.stderr.trim()}`);
  phase('example image built');
  t.comment(`private engine: ${phases.join(', ')}`);

  return {
    docker,
    async run(t, args) {
      const result = await docker(['run', '-d', ...args]);
      const id = result.stdout.trim();
      if (/^[0-9a-f]{64}$/.test(id)) {
        containers.push(id);
        // Remove it as soon as its test ends: with vfs every container is a full copy of the image.
        t.teardown(async () => {
          await docker(['rm', '-f', '-v', id], 30_000);
          containers.splice(containers.indexOf(id), 1);
        });
      }
      if (result.status !== 0) throw new Error(`docker run failed: ${result.stderr.trim()}`);
      return id;
    },
    logs(t, id) {
      return spawnChild(t, DOCKER_CLI, ['logs', '-f', id], env);
    },
    async wait(id) {
      const result = await docker(['wait', id]);
      return Number(result.stdout.trim());
    },
  };
}

/** Skips with `reason`, or fails when CI=true (a CI machine must run every suite). */
export function skipOrFail(t: Test, reason: string): void {
  if (process.env.CI === 'true') t.fail(`end-to-end tests cannot run in CI: ${reason}`);
  else t.pass(reason, { skip: reason });
}
