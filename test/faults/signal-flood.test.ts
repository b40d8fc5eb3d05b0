// A burst of signals at the init process — thousands of SIGUSR2 to pass on, then repeated
// SIGTERMs during termination — must not turn into thousands of log lines, for `deputy
// supervise` and for the bash shim alike; the child still exits normally afterwards.
import t, { type Test } from 'tap';
import { join } from 'node:path';
import { DEPUTY_BIN, ROOT, spawnChild, tempIpcDir, type Child } from '../helpers.js';
import { stderrBytes, suppressedCount, withMsg } from './fault-helpers.js';
import { waitForStdout } from '../helpers.js';

const USR2_BURST = 2000;
const TERM_BURST = 500;
/** Stderr lines allowed for both bursts: a handful of samples and a summary each, plus the lifecycle lines. */
const MAX_LINES = 30;
/** Ignores both signals, says so, and exits 3 after a line on stdin. */
const CHILD = ['sh', '-c', "trap '' USR2 TERM; echo ready; read -r _line; exit 3"];
/** Node start-up on a loaded 2-core machine can take seconds: a bound, not a synchronisation. */
const START_MS = 30_000;

interface Expectation {
  /** Prefix of the record logged per forwarded SIGUSR2, and of the one per repeated SIGTERM. */
  readonly forwarded: string;
  readonly repeated: string;
}

/**
 * Sends `signal` `count` times, a timer turn (≈ 1 ms) apart: a signal still pending when the next
 * one comes merges with it, so a tight loop would mostly test the kernel (bash, slower to take
 * each signal, then sees a handful). The point is many signals taken, not a record rate.
 */
async function send(pid: number, signal: NodeJS.Signals, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    process.kill(pid, signal);
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
}

async function burst(t: Test, init: Child, expect: Expectation): Promise<void> {
  const bytes = stderrBytes(init);
  await waitForStdout(init, 'ready', START_MS);
  const started = Date.now();
  await send(init.pid, 'SIGUSR2', USR2_BURST);
  process.kill(init.pid, 'SIGTERM'); // begins termination: no pid file, so SIGTERM to the child, which ignores it
  await init.waitForLog((record) => typeof record.msg === 'string' && record.msg.includes('SIGTERM') && record.msg.includes('the child'));
  await send(init.pid, 'SIGTERM', TERM_BURST);
  const burstMs = Date.now() - started;
  init.send('exit');
  t.equal((await init.exited).status, 3, "the child's own status: it exited normally");

  const forwarded = withMsg(init.logs, expect.forwarded).filter((record) => record.signal === 'SIGUSR2').length;
  const forwardedSuppressed = suppressedCount(init.logs, 'forwarded-signal');
  const repeated = withMsg(init.logs, expect.repeated).length;
  const repeatedSuppressed = suppressedCount(init.logs, 'termination-signal-repeated');
  // Signals of one kind coalesce while pending, so fewer than were sent may arrive; none are invented.
  t.ok(forwarded + forwardedSuppressed <= USR2_BURST, `SIGUSR2 received: ${forwarded} logged + ${forwardedSuppressed} summarised`);
  t.ok(forwardedSuppressed > 0, 'the SIGUSR2 beyond the first few are summarised');
  t.ok(repeated + repeatedSuppressed <= TERM_BURST, `repeated SIGTERM received: ${repeated} logged + ${repeatedSuppressed} summarised`);
  t.ok(repeatedSuppressed > 0, 'the repeated SIGTERMs beyond the first few are summarised');
  t.ok(init.logs.length <= MAX_LINES, `stderr has ${init.logs.length} lines (at most ${MAX_LINES})`);
  t.comment(
    `${USR2_BURST} SIGUSR2 + ${TERM_BURST} SIGTERM sent; received ${forwarded + forwardedSuppressed} + ${repeated + repeatedSuppressed} in ${burstMs} ms: ${init.logs.length} stderr lines, ${bytes()} bytes`,
  );
}

t.test(`deputy supervise: ${USR2_BURST} SIGUSR2 and ${TERM_BURST} repeated SIGTERM log at most ${MAX_LINES} lines`, async (t) => {
  const dir = tempIpcDir(t);
  const init = spawnChild(t, process.execPath, [DEPUTY_BIN, 'supervise', '--timeout', '60s', '--', ...CHILD], { DEPUTY_IPC_DIR: dir });
  await burst(t, init, { forwarded: 'signal received', repeated: 'termination already under way' });
});

t.test(`supervise.sh: ${USR2_BURST} SIGUSR2 and ${TERM_BURST} repeated SIGTERM log at most ${MAX_LINES} lines`, async (t) => {
  const dir = tempIpcDir(t);
  const init = spawnChild(t, 'bash', [join(ROOT, 'shim', 'supervise.sh'), ...CHILD], { DEPUTY_IPC_DIR: dir, DEPUTY_TIMEOUT: '60s' });
  await burst(t, init, { forwarded: 'forwarding SIGUSR2', repeated: 'SIGTERM again during termination' });
});

/**
 * bash drops the status of a child it reaps inside `wait` when a trapped signal interrupts that
 * wait as the child exits; the shim then exited 255 (after blocking until another child exited).
 * A stream of signals while the child exits, several times over, catches it.
 */
const ROUNDS = 5;
for (const [name, command] of [
  ['supervise.sh', ['bash', join(ROOT, 'shim', 'supervise.sh')]],
  ['deputy supervise', [process.execPath, DEPUTY_BIN, 'supervise', '--']],
] as const) {
  t.test(`${name}: the child's exit status survives signals arriving as it exits (${ROUNDS} rounds)`, async (t) => {
    for (let round = 0; round < ROUNDS; round++) {
      const init = spawnChild(t, command[0], [...command.slice(1), 'sh', '-c', "trap '' USR2; echo ready; read -r _line; exit 3"], {
        DEPUTY_IPC_DIR: tempIpcDir(t),
        DEPUTY_LOG_LEVEL: 'info',
      });
      await waitForStdout(init, 'ready', START_MS);
      let exited = false;
      const stream = (async () => {
        for (let i = 0; !exited; i++) {
          if (i === 200) init.send('exit'); // the child exits in the middle of the stream
          try {
            process.kill(init.pid, 'SIGUSR2');
          } catch {
            return; // gone
          }
          await new Promise((resolve) => setTimeout(resolve, 0));
        }
      })();
      const { status } = await init.exited;
      exited = true;
      await stream;
      t.equal(status, 3, `round ${round + 1}: the child's status`);
    }
  });
}

/**
 * stderr is JSON lines, but for bash's own warning about a signal it found pending under an
 * ignored trap: the shim silences bash during a burst, and the burst is recognised at its second
 * signal, so about one such line can come as a burst begins (docs/shim.md). Unsilenced, it came
 * dozens of times a second.
 */
function checkRawLines(t: Test, init: Child, prefix: string): void {
  const raw = init.logs.filter((record) => record.level === 'raw').map((record) => String(record.msg));
  t.same(
    raw.filter((line) => !/warning: run_pending_traps: bad value in trap_list/.test(line)),
    [],
    `${prefix}stderr holds JSON lines (and at most bash's warning)`,
  );
  t.ok(raw.length <= 2, `${prefix}${raw.length} lines of bash's own (at most 2)`);
}

/**
 * The same with a process in a `kill` loop, far denser: the shim's last `wait`, which only looks
 * the status up, was cut short by a signal caught just before its traps were cleared (status
 * 140).
 */
const KILL_LOOP_ROUNDS = 10;
for (const [name, command] of [
  ['supervise.sh', ['bash', join(ROOT, 'shim', 'supervise.sh')]],
  ['deputy supervise', [process.execPath, DEPUTY_BIN, 'supervise', '--']],
] as const) {
  t.test(`${name}: the child's status and a clean stderr survive a kill loop as it exits (${KILL_LOOP_ROUNDS} rounds)`, async (t) => {
    for (let round = 1; round <= KILL_LOOP_ROUNDS; round++) {
      const init = spawnChild(t, command[0], [...command.slice(1), 'sh', '-c', "trap '' USR2; echo ready; read -r _line; exit 3"], {
        DEPUTY_IPC_DIR: tempIpcDir(t),
      });
      await waitForStdout(init, 'ready', START_MS);
      // Ends by itself once the init is gone (and reaped, so its pid is not reused meanwhile).
      spawnChild(t, 'sh', ['-c', 'while kill -USR2 "$1" 2>/dev/null; do :; done', 'flood', String(init.pid)]);
      // Five signals handled: the shim has seen the burst and polls (docs/shim.md, Signal bursts);
      // the first two still meet a blocking `wait`, where bash can lose the status (left open).
      let handled = 0;
      await init.waitForLog((record) => record.signal === 'SIGUSR2' && ++handled >= 5, START_MS);
      init.send('exit'); // the child exits in the middle of the flood
      const { status } = await init.exited;
      t.equal(status, 3, `round ${round}: the child's status`);
      checkRawLines(t, init, `round ${round}: `);
    }
  });
}

/**
 * A flood from processes in `kill` loops outruns any shell: bash ran each trap nested inside the
 * one it was running until its stack overflowed and it died of SIGSEGV — after about 5 s with an
 * 8 MiB stack. The shim runs here with a 1 MiB stack, so that one second of flood would be enough.
 * Each entrypoint must come out alive, with its child's status.
 */
const FLOODERS = 4;
const FLOOD_SIGNALS = 40_000;
const SMALL_STACK_KIB = 1024;
for (const [name, command] of [
  ['supervise.sh', ['sh', '-c', `ulimit -s ${SMALL_STACK_KIB} && exec bash "$0" "$@"`, join(ROOT, 'shim', 'supervise.sh')]],
  ['deputy supervise', [process.execPath, DEPUTY_BIN, 'supervise', '--']],
] as const) {
  // SIGUSR2 is passed on; SIGTERM begins termination, then each one after it is passed on.
  for (const signal of ['USR2', 'TERM'] as const) {
    t.test(`${name}: survives ${FLOODERS} processes each sending ${FLOOD_SIGNALS} SIG${signal} as fast as they can`, async (t) => {
      const init = spawnChild(t, command[0], [...command.slice(1), 'sh', '-c', "trap '' USR2 TERM; echo ready; read -r _line; exit 3"], {
        DEPUTY_IPC_DIR: tempIpcDir(t),
        DEPUTY_LOG_LEVEL: 'info',
        DEPUTY_TIMEOUT: '60s', // SIGTERM begins termination: its timeout must not end the child first
      });
      await waitForStdout(init, 'ready', START_MS);
      // Ten kills per count, so that counting slows the flood little.
      const kills = Array(10).fill(`kill -${signal} "$1" 2>/dev/null`).join(' && ');
      const loop = `i=0; while [ "$i" -lt "$2" ] && ${kills}; do i=$((i + 10)); done; [ "$i" -ge "$2" ]`;
      const flooders = Array.from({ length: FLOODERS }, () => spawnChild(t, 'sh', ['-c', loop, 'flood', String(init.pid), String(FLOOD_SIGNALS)]));
      const statuses = await Promise.all(flooders.map(async (flooder) => (await flooder.exited).status));
      t.same(statuses, Array(FLOODERS).fill(0), 'every signal was sent: the entrypoint lived through the flood');
      init.send('exit');
      const { status, signal: killedBy } = await init.exited;
      t.equal(killedBy, null, 'not killed by a signal');
      t.equal(status, 3, "the child's own status");
      checkRawLines(t, init, '');
    });
  }
}
