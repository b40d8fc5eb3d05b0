/**
 * What the private engine's images are made of (test/e2e/engine.ts): a base root filesystem made
 * of the host's node binary, the libraries ldd lists and a few tools (no registry is needed), and
 * the build context a user would have for examples/Dockerfile.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ROOT } from '../helpers.js';

/** Binaries copied into the base image besides node: the bin's `#!/usr/bin/env node`, and the shells and tools a shim may use. */
const BASE_TOOLS = ['env', 'sh', 'bash', 'sleep', 'cat', 'rm', 'mkdir', 'ls', 'mktemp', 'date', 'timeout', 'readlink', 'basename', 'dirname', 'tr', 'grep', 'sed', 'kill'];

function which(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(':')) {
    const path = join(dir, name);
    try {
      if (lstatSync(path).isFile() || lstatSync(path).isSymbolicLink()) return path;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Copies a file's content into `rootfs` at `target` (its directory resolved as on this host). */
function copyInto(rootfs: string, source: string, target: string): void {
  const at = join(rootfs, existsSync(dirname(target)) ? realpathSync(dirname(target)) : dirname(target), basename(target));
  if (existsSync(at)) return;
  mkdirSync(dirname(at), { recursive: true });
  copyFileSync(realpathSync(source), at);
  chmodSync(at, 0o755);
}

/** Copies a binary to `destination` in `rootfs`, with every library ldd lists and the loader. */
function copyWithLibraries(rootfs: string, path: string, destination: string): void {
  copyInto(rootfs, path, destination);
  const ldd = spawnSync('ldd', [path], { encoding: 'utf8' }).stdout ?? '';
  for (const match of ldd.matchAll(/(\/\S+)\s+\(0x/g)) {
    if (existsSync(match[1]!)) copyInto(rootfs, match[1]!, match[1]!);
  }
}

/** Builds the base root filesystem: node, its libraries and the loader, a few tools, /tmp and /run. */
export function buildRootfs(rootfs: string): void {
  mkdirSync(rootfs, { recursive: true });
  // Mirror a merged-/usr host (/bin → usr/bin …) so paths ldd prints resolve inside the image.
  for (const top of ['bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32']) {
    try {
      if (lstatSync(`/${top}`).isSymbolicLink()) symlinkSync(readlinkSync(`/${top}`), join(rootfs, top));
    } catch {
      // not on this host
    }
  }
  copyWithLibraries(rootfs, process.execPath, '/usr/local/bin/node');
  for (const tool of BASE_TOOLS) {
    const path = which(tool);
    if (path) copyWithLibraries(rootfs, path, join('/usr/bin', tool));
  }
  for (const dir of ['tmp', 'run', 'etc']) mkdirSync(join(rootfs, dir), { recursive: true });
  chmodSync(join(rootfs, 'tmp'), 0o1777);
  writeFileSync(join(rootfs, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000::/app:/bin/sh\n');
  writeFileSync(join(rootfs, 'etc', 'group'), 'root:x:0:\nnode:x:1000:\n');
}

interface PackageJson {
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

/** Where node finds `name` required from `fromDir` (relative to ROOT): its node_modules, then each parent's. */
function resolveDependency(fromDir: string, name: string): string | undefined {
  let dir = fromDir;
  for (;;) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(ROOT, candidate, 'package.json'))) return candidate;
    if (dir === '') return undefined;
    const index = dir.lastIndexOf('node_modules/');
    dir = index <= 0 ? '' : dir.slice(0, index - 1);
  }
}

/** The package's runtime dependency closure, as paths relative to ROOT. */
function runtimeDependencies(): string[] {
  const found = new Set<string>();
  const visit = (packageDir: string): void => {
    const manifest = JSON.parse(readFileSync(join(ROOT, packageDir, 'package.json'), 'utf8')) as PackageJson;
    for (const name of Object.keys({ ...manifest.dependencies, ...manifest.optionalDependencies })) {
      const location = resolveDependency(packageDir, name);
      if (location && !found.has(location)) {
        found.add(location);
        visit(location);
      }
    }
  };
  visit('');
  return [...found].sort();
}

/**
 * The build context a user would have: the example apps, the Dockerfile, and production
 * node_modules with k8s-deputy installed as a dependency (so node_modules/.bin/deputy exists).
 */
export function buildContext(context: string, extraFiles: readonly string[]): void {
  mkdirSync(context, { recursive: true });
  copyFileSync(join(ROOT, 'examples', 'Dockerfile'), join(context, 'Dockerfile'));
  for (const file of ['http-app.js', 'job-worker.js']) {
    if (existsSync(join(ROOT, 'examples', file))) copyFileSync(join(ROOT, 'examples', file), join(context, file));
  }
  for (const file of extraFiles) copyFileSync(file, join(context, basename(file)));
  for (const dependency of runtimeDependencies()) cpSync(join(ROOT, dependency), join(context, dependency), { recursive: true });
  const self = join(context, 'node_modules', 'k8s-deputy');
  mkdirSync(self, { recursive: true });
  copyFileSync(join(ROOT, 'package.json'), join(self, 'package.json'));
  for (const dir of ['dist', 'bin', 'shim']) {
    if (existsSync(join(ROOT, dir))) cpSync(join(ROOT, dir), join(self, dir), { recursive: true });
  }
  mkdirSync(join(context, 'node_modules', '.bin'), { recursive: true });
  symlinkSync('../k8s-deputy/bin/deputy.js', join(context, 'node_modules', '.bin', 'deputy'));
  writeFileSync(join(context, 'package.json'), `${JSON.stringify({ name: 'e2e-app', private: true, type: 'module', dependencies: { 'k8s-deputy': '*' } }, null, 2)}\n`);
}
