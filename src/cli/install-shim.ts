/**
 * Installs the bash entrypoint shim (`supervise.sh`) and exec probe (`probe.sh`) shipped in the
 * package's `shim/` directory, for images that want PID 1 to cost almost nothing:
 *
 *   RUN npx deputy install-shim /usr/local/bin
 *   ENTRYPOINT ["/usr/local/bin/supervise.sh"]
 */
import { chmodSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DeputyError } from '../contract/errors.js';

/** The scripts `installSuperviseShim` installs, by file name. */
export const SHIM_SCRIPTS = ['supervise.sh', 'probe.sh'] as const;

/** The package's `shim/` directory (next to `dist/`). */
const SHIM_SOURCE_DIR = fileURLToPath(new URL('../../shim/', import.meta.url));

/** Options of `installSuperviseShim(dir, options)`. */
export interface InstallShimOptions {
  /** Replace a destination file whose content differs from the shipped script. Default: false. */
  readonly force?: boolean;
}

/** What happened to one script. */
export interface InstalledScript {
  /** Absolute destination path. */
  readonly path: string;
  /** `installed` (new), `replaced` (differed; `force`), `unchanged` (already identical). */
  readonly action: 'installed' | 'replaced' | 'unchanged';
}

/** A different file already sits at an install destination and `force` was not given. */
export class ShimExistsError extends DeputyError {
  readonly path: string;
  constructor(path: string) {
    super(
      'EDEPUTY_SHIM_EXISTS',
      `${path} already exists and differs from the k8s-deputy script: remove it, choose another directory, or pass --force (force: true) to replace it`,
    );
    this.path = path;
  }
}

/** The file's content, or undefined when nothing is there; a directory there is a conflict. */
function readIfPresent(path: string): Buffer | undefined {
  try {
    if (statSync(path).isDirectory()) throw new ShimExistsError(path);
    return readFileSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * Copies `supervise.sh` and `probe.sh` into `dir` (created if missing) with mode 0755. Every
 * destination is checked before anything is written, so a conflict leaves `dir` untouched.
 * Throws {@link ShimExistsError} when a destination differs and `force` is not set.
 */
export function installSuperviseShim(dir: string, options: InstallShimOptions = {}): InstalledScript[] {
  const { force = false } = options;
  const target = resolve(dir);
  const plan = SHIM_SCRIPTS.map((name) => {
    const path = join(target, name);
    const content = readFileSync(join(SHIM_SOURCE_DIR, name));
    const existing = readIfPresent(path);
    const action: InstalledScript['action'] = existing === undefined ? 'installed' : existing.equals(content) ? 'unchanged' : 'replaced';
    if (action === 'replaced' && !force) throw new ShimExistsError(path);
    return { path, content, action };
  });
  mkdirSync(target, { recursive: true });
  for (const { path, content, action } of plan) {
    if (action === 'unchanged') {
      chmodSync(path, 0o755);
      continue;
    }
    // Write then rename: a running shim keeps its open file, a reader never sees half a script.
    const temporary = `${path}.${process.pid}.tmp`;
    writeFileSync(temporary, content, { mode: 0o755 });
    chmodSync(temporary, 0o755); // the umask may have narrowed the mode
    renameSync(temporary, path);
  }
  return plan.map(({ path, action }) => ({ path, action }));
}
