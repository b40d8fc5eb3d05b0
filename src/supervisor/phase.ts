/**
 * Where a supervision (src/supervisor/supervision.ts) is, as one value, and what each phase
 * implies for the waits after the child's exit. It only moves forward:
 *   running ─(termination signal, socket terminate or preStop hook)─▶ terminating ─(child exits)─▶ child-exited ─▶ done
 *   running ─(the child exits by itself)──────────────────────────────────────────▶ child-exited ─▶ done
 * and to done at once when the command cannot start. `sinceMs` is when the timeout started; a
 * preStop hook starts it without a signal (`signalled` false: the first signal still delivers
 * terminate). `forced` stops the wait for leftovers; after a timeout the preStop hooks still get
 * their grace. `hurry` (a SIGINT after the child exited) stops every wait.
 */

/** A hard end: the timeout killed the child, or a second SIGINT did (exit 130). */
export type Forced = 'timeout' | 'interrupted';

export type ChildExited = { readonly name: 'child-exited'; readonly sinceMs: number | undefined; readonly forced?: Forced; readonly hurry: boolean };

export type Phase =
  | { readonly name: 'running' }
  | { readonly name: 'terminating'; readonly sinceMs: number; readonly timer: NodeJS.Timeout; readonly signalled: boolean; readonly forced?: Forced }
  | ChildExited
  | { readonly name: 'done'; readonly status: number };

/** The child has exited (or never started): nothing is left to signal. */
export const childGone = (phase: Phase): boolean => phase.name === 'child-exited' || phase.name === 'done';

/** A SIGINT after the child exited: not even the preStop hooks' grace is waited for. */
export const cutShort = (phase: Phase): boolean => phase.name === 'done' || (phase.name === 'child-exited' && phase.hurry);

/** Stop waiting for leftovers and preStop hooks: cut short by a SIGINT, or everything was killed. */
export const hurrying = (phase: Phase): boolean => cutShort(phase) || (phase.name === 'child-exited' && phase.forced !== undefined);
