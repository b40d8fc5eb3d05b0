// The command cannot be executed for a reason only execve reports (a name too long, a path
// through a file, arguments or environment too big): both entrypoints, as PID 1 and as a plain
// process, must exit 126 with exactly one error line naming the errno — no stack trace, no raw
// shell message — within a bounded time, and leave the IPC directory as they found it.
//
// E2BIG cannot come from the entrypoint's own command line: the kernel would refuse to exec the
// entrypoint with it too. It comes from what the entrypoint adds at run time — a NODE_OPTIONS
// preload for `deputy supervise`, a BASH_ENV file for the shim (test/fixtures/grow-exec-args.*).
import t, { type Test } from 'tap';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DEPUTY_BIN, FIXTURES, ROOT, UNSHARE, killTree, pid1Unavailable, spawnChild, tempIpcDir, type LogRecord } from '../helpers.js';

/** A failed exec is reported at once; this only bounds a hang. */
const EXIT_DEADLINE_MS = 15_000;
const KIB = 1024;

const noPid1 = pid1Unavailable();
if (noPid1 && process.env.CI === 'true') t.fail(`cannot run as PID 1: ${noPid1} (a skip is a failure when CI=true)`);

/** The kernel's limit on argv + envp together: a quarter of the stack limit, at most 6 MiB. */
function argumentSpaceBytes(): number {
  const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max stack size'));
  const soft = line?.split(/\s{2,}/)[1];
  const stack = soft === undefined || soft === 'unlimited' ? Infinity : Number(soft);
  return Math.max(128 * KIB, Math.min(stack / 4, 6 * 1024 * KIB));
}

interface Entrypoint {
  readonly name: string;
  readonly argv: readonly string[];
  /** Environment that makes the entrypoint grow its child's argv or environment (GROW_*). */
  readonly growEnv: NodeJS.ProcessEnv;
}

const entrypoints: Entrypoint[] = [
  {
    name: 'deputy supervise',
    argv: [process.execPath, DEPUTY_BIN, 'supervise', '--'],
    growEnv: { NODE_OPTIONS: `--import=${pathToFileURL(join(FIXTURES, 'grow-exec-args.mjs')).href}` },
  },
  { name: 'shim/supervise.sh', argv: [join(ROOT, 'shim', 'supervise.sh')], growEnv: { BASH_ENV: join(FIXTURES, 'grow-exec-args.sh') } },
];

interface Run {
  readonly status: number;
  readonly logs: LogRecord[];
  readonly elapsedMs: number;
  readonly dir: string;
}

async function run(t: Test, entry: Entrypoint, pid1: boolean, command: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  const dir = tempIpcDir(t);
  const argv = [...(pid1 ? ['unshare', ...UNSHARE] : []), ...entry.argv, ...command];
  const started = Date.now();
  const child = spawnChild(t, argv[0]!, argv.slice(1), { DEPUTY_IPC_DIR: dir, ...env });
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      killTree(child.pid);
      reject(new Error(`still running after ${EXIT_DEADLINE_MS} ms; logs: ${JSON.stringify(child.logs).slice(0, 2000)}`));
    }, EXIT_DEADLINE_MS);
  });
  try {
    const { status } = await Promise.race([child.exited, deadline]);
    return { status, logs: child.logs, elapsedMs: Date.now() - started, dir };
  } finally {
    clearTimeout(timer);
  }
}

/** One error record naming `code`, nothing that is not a JSON record (no stack trace, no raw shell message). */
function checkReport(t: Test, result: Run, code: string, status: number): void {
  t.equal(result.status, status, `exit status ${status}`);
  const raw = result.logs.filter((r) => r.level === 'raw');
  t.same(
    raw.map((r) => String(r.msg).slice(0, 200)),
    [],
    'every stderr line is a JSON log record (no stack trace, no shell message)',
  );
  const errors = result.logs.filter((r) => r.level === 'error');
  t.equal(errors.length, 1, `exactly one error line (got ${JSON.stringify(errors).slice(0, 600)})`);
  const error = errors[0];
  t.equal(error?.code, code, `the error line's code is ${code}`);
  t.match(String(error?.msg), new RegExp(`\\b${code}\\b`), `the message names ${code}`);
  t.notOk(
    result.logs.some((r) => JSON.stringify(r).includes('    at ')),
    'no stack trace in any record',
  );
  t.same(readdirSync(result.dir), [], 'the IPC directory is left empty');
}

for (const entry of entrypoints) {
  for (const pid1 of [true, false]) {
    const mode = pid1 ? 'as PID 1' : 'as a plain process';
    t.test(`${entry.name} ${mode}`, { skip: pid1 ? noPid1 : false, timeout: 120_000 }, async (t) => {
      t.test('ENAMETOOLONG: a command name over 255 bytes', async (t) => {
        const name = 'a'.repeat(300);
        const result = await run(t, entry, pid1, [name]);
        checkReport(t, result, 'ENAMETOOLONG', 126);
      });

      t.test('ENAMETOOLONG: a path with a component over 255 bytes', async (t) => {
        const path = join(tempIpcDir(t), 'b'.repeat(300));
        const result = await run(t, entry, pid1, [path]);
        checkReport(t, result, 'ENAMETOOLONG', 126);
      });

      t.test('ENOTDIR: a path through a regular file', async (t) => {
        const file = join(tempIpcDir(t), 'file');
        writeFileSync(file, '');
        const result = await run(t, entry, pid1, [join(file, 'command')]);
        checkReport(t, result, 'ENOTDIR', 126);
      });

      t.test('E2BIG: a 200 KiB argument', async (t) => {
        const result = await run(t, entry, pid1, ['true'], { ...entry.growEnv, GROW: 'arg', GROW_BYTES: String(200 * KIB) });
        checkReport(t, result, 'E2BIG', 126);
      });

      t.test('E2BIG: a 200 KiB environment variable', async (t) => {
        const result = await run(t, entry, pid1, ['true'], { ...entry.growEnv, GROW: 'env', GROW_BYTES: String(200 * KIB) });
        checkReport(t, result, 'E2BIG', 126);
        t.match(String(result.logs.find((r) => r.level === 'error')?.msg), /GROW_0/, 'names the variable');
      });

      t.test('E2BIG: arguments under the per-string limit but too many together', async (t) => {
        const bytes = 100 * KIB;
        const count = Math.ceil(argumentSpaceBytes() / bytes) + 1;
        const result = await run(t, entry, pid1, ['true'], { ...entry.growEnv, GROW: 'arg', GROW_BYTES: String(bytes), GROW_COUNT: String(count) });
        checkReport(t, result, 'E2BIG', 126);
      });

      t.test('the growth fixture itself works: a command that fits still runs', async (t) => {
        const result = await run(t, entry, pid1, ['true'], { ...entry.growEnv, GROW: 'env', GROW_BYTES: String(64 * KIB) });
        t.equal(result.status, 0);
        t.equal(result.logs.filter((r) => r.level === 'error').length, 0);
      });
    });
  }
}
