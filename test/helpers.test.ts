// The test helpers' own promise: a failed test leaves nothing running, not even a grandchild
// that moved to a process group of its own.
import t from 'tap';
import { descendantsOf, killTree, spawnChild } from './helpers.js';
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
