// Fault: an orphan storm under `deputy supervise` as a real PID 1 (unshare --pid). Every orphan
// becomes the supervisor's zombie and costs it a SIGCHLD and a sweep; a sweep must reap it and
// must not allocate: reading /proc with readFileSync (two 64 KiB buffers per file) grew the
// supervisor's anonymous memory by ≈ 15 MB over the first 500 orphans, ≈ 20 MB over 3,000.
// Memory is read from outside, in /proc/<pid>/status.
import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { childrenOf, readProcStat } from '../../src/contract/proc.js';
import { socketPath } from '../../src/contract/protocol.js';
import { DEPUTY_BIN, FIXTURES, UNSHARE, pid1Unavailable, spawnChild, tempIpcDir, type Child } from '../helpers.js';

/** Enough for the old sweep to grow ≈ 15 MB; the storm takes 2–10 s on a busy 2-core machine. */
const ORPHANS = 600;
/** RssAnon growth allowed over the storm: the FFI's first load (≈ 1 MB) plus heap noise. */
const ANON_GROWTH_LIMIT_MB = 5;
const EXIT_STATUS = 9;
const SAMPLE_MS = 20;

const unavailable = pid1Unavailable();
const skip = unavailable ? `cannot run the supervisor as PID 1: ${unavailable}` : false;
if (unavailable && process.env.CI === 'true') t.fail(`${skip} (a skip is a failure when CI=true)`);

/** Anonymous resident memory (heap and malloc, not file-backed pages) of `pid`, in MB. */
function anonMb(pid: number): number {
  const kb = /RssAnon:\s+([0-9]+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'))?.[1];
  if (kb === undefined) throw new Error(`no RssAnon in /proc/${pid}/status`);
  return Number(kb) / 1024;
}

/** Resolves when `predicate()` holds; rejects with `what` after `timeoutMs`. The state is in /proc: there is no event to wait for. */
async function until(predicate: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, SAMPLE_MS));
  }
}

const printed = (child: Child, line: string): boolean => child.stdout.includes(line);

t.test(`as PID 1, a storm of ${ORPHANS} orphans is reaped without growing the supervisor, and the child's status passes`, { skip }, async (t) => {
  const dir = tempIpcDir(t);
  const storm = join(FIXTURES, 'orphan-storm.sh');
  // info, as in production: debug would log every sweep
  const unshare = spawnChild(t, 'unshare', [...UNSHARE, process.execPath, DEPUTY_BIN, 'supervise', '--', storm, String(ORPHANS), String(EXIT_STATUS)], {
    DEPUTY_IPC_DIR: dir,
    DEPUTY_LOG_LEVEL: 'info',
  });
  await unshare.waitForLog('supervisor started');
  const supervisorPid = childrenOf(unshare.pid)[0] ?? 0;
  t.not(supervisorPid, 0, 'the supervisor runs');
  t.teardown(() => {
    try {
      if (supervisorPid !== 0) process.kill(supervisorPid, 'SIGKILL'); // as PID 1 this ends the whole namespace
    } catch {
      // exited, as it should have
    }
  });
  // Settled: the storm is waiting, and the supervisor has bound its socket (its deferred start-up).
  await until(() => printed(unshare, 'ready') && existsSync(socketPath(1, dir)), 10_000, () => `supervisor not settled; logs: ${JSON.stringify(unshare.logs)}`);
  const [stormShell] = childrenOf(supervisorPid);
  const idleMb = anonMb(supervisorPid);

  unshare.send('go');
  let peakMb = idleMb;
  const stormOver = (): boolean => {
    peakMb = Math.max(peakMb, anonMb(supervisorPid));
    // every orphan made, exited and reaped: the storm's shell is the supervisor's only child
    return printed(unshare, `orphans made: ${ORPHANS}`) && childrenOf(supervisorPid).every((pid) => pid === stormShell);
  };
  await until(stormOver, 60_000, () => {
    const zombies = childrenOf(supervisorPid).filter((pid) => readProcStat(pid)?.state === 'Z');
    return `${printed(unshare, 'orphans made') ? 'all' : 'not all'} orphans made; ${zombies.length} zombies left under the supervisor`;
  });
  t.pass('every orphan was reaped: no zombie is left under the supervisor');
  const growthMb = peakMb - idleMb;
  t.ok(growthMb <= ANON_GROWTH_LIMIT_MB, `anonymous memory grew ${growthMb.toFixed(1)} MB over ${ORPHANS} orphans (limit ${ANON_GROWTH_LIMIT_MB} MB; idle ${idleMb.toFixed(1)} MB, peak ${peakMb.toFixed(1)} MB)`);

  unshare.send('exit');
  const status = await Promise.race([
    unshare.exited.then((exit) => exit.status),
    new Promise<string>((resolve) => setTimeout(resolve, 10_000, 'still running 10 s after its child exited').unref()),
  ]);
  t.equal(status, EXIT_STATUS, 'the supervisor exits with the child\'s status');
});
