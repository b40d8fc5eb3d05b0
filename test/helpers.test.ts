// The test helpers' own promises: a failed test leaves nothing running, not even a grandchild
// that moved to a process group of its own, and a wait for a child's output fails, not hangs.
import t from 'tap';
import { descendantsOf, killTree, spawnChild, waitForStdout } from './helpers.js';
import { processGone } from '../src/contract/proc.js';

t.test('killTree ends a child and a grandchild in its own process group', async (t) => {
  // sh starts a detached sleeper (its own group via setsid) and reports its pid, then waits.
  const child = spawnChild(t, 'sh', ['-c', 'setsid sleep 1000 & echo "{\\"msg\\":\\"grandchild\\",\\"pid\\":$!}" >&2; wait']);
  const record = await child.waitForLog('grandchild');
  const grandchild = record.pid as number;
  t.ok(descendantsOf(child.pid).includes(grandchild), 'the grandchild is found below the child');
  killTree(child.pid);
  await child.exited;
  // the grandchild was SIGKILLed too; it is reparented and reaped by init, so poll for its end
  const deadline = Date.now() + 5000;
  while (!processGone(grandchild) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  t.ok(processGone(grandchild), 'the grandchild is gone');
});

// waitForStdout waits for a stdout line (stdout is not parsed as logs). A timer bounds the wait:
// a child that prints nothing and never exits must fail the test, not hang it.
t.test('waitForStdout gives up at its timeout when the child stays silent', async (t) => {
  const silent = spawnChild(t, 'sleep', ['1000']);
  // Bounded here too, so that a wait without its own timer fails this test instead of hanging it.
  let guard: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    waitForStdout(silent, 'never', 200).then(
      () => 'resolved',
      (error: Error) => error.message,
    ),
    new Promise<string>((resolve) => (guard = setTimeout(() => resolve('still waiting after 3 s'), 3000))),
  ]);
  clearTimeout(guard);
  t.match(outcome, /timed out waiting for stdout line never; got \[\]/);
});
