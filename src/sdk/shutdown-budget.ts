/**
 * The shutdown budget: how one grace period is split between the drain delay, the drain (HTTP
 * and tracked work) and the shutdown handlers. Pure arithmetic on the options and the start
 * time, so that every split is unit-tested; the Deputy only follows the instants it returns.
 *
 *   startedAt ─ delay (ends by delayCapAt) ─ drain (ends by drainDeadlineAt) ─ handlers (end by deadlineAt)
 *
 * - the handlers keep their share at the end: min(shutdownHandlerTimeoutMs, half the grace
 *   period), none when there are no handlers — so a long drain cannot starve them;
 * - delay and drain share the rest (`budgetMs`). The drain always keeps `reserveMs` =
 *   max(1 s, a quarter of it), at most half — so requests in flight when listening stops get
 *   time to finish however long the delay asked to be;
 * - the delay lasts at least drainDelayMs when that fits, and may go on (waiting for a quiet
 *   window) up to half the budget, or to drainDelayMs if that is longer and fits.
 */
import { SETTINGS } from '../contract/settings.js';

export interface ShutdownBudgetInput {
  /** When shutdown began (ms since epoch). */
  readonly startedAt: number;
  readonly gracePeriodMs: number;
  readonly drainDelayMs: number;
  /** How many shutdown handlers are registered. */
  readonly handlerCount: number;
  readonly shutdownHandlerTimeoutMs: number;
}

/** A condition worth a warning at shutdown start, with its fields and the fix. */
export interface BudgetWarning {
  readonly code: 'drain_delay_cut';
  readonly fields: Readonly<Record<string, number>>;
  readonly message: string;
}

export interface ShutdownBudget {
  readonly startedAt: number;
  /** The end of the whole shutdown: startedAt + gracePeriodMs. */
  readonly deadlineAt: number;
  /** What the handlers keep at the end. */
  readonly handlerShareMs: number;
  /** When the drain (HTTP and tracked work) must be over: deadlineAt − handlerShareMs. */
  readonly drainDeadlineAt: number;
  /** What delay and drain share: drainDeadlineAt − startedAt. */
  readonly budgetMs: number;
  /** What the drain keeps whatever the delay asked for. */
  readonly reserveMs: number;
  /** The latest instant the drain delay may end. */
  readonly delayCapAt: number;
  readonly warnings: readonly BudgetWarning[];
}

export function shutdownBudget(input: ShutdownBudgetInput): ShutdownBudget {
  const { startedAt, gracePeriodMs, drainDelayMs, handlerCount, shutdownHandlerTimeoutMs } = input;
  const deadlineAt = startedAt + gracePeriodMs;
  const handlerShareMs = handlerCount > 0 ? Math.min(shutdownHandlerTimeoutMs, Math.floor(gracePeriodMs / 2)) : 0;
  const drainDeadlineAt = deadlineAt - handlerShareMs;
  const budgetMs = Math.max(0, drainDeadlineAt - startedAt);
  const reserveMs = Math.min(Math.floor(budgetMs / 2), Math.max(1000, Math.floor(budgetMs / 4)));
  const delayRoomMs = budgetMs - reserveMs;
  const delayCapAt = startedAt + Math.min(Math.max(drainDelayMs, Math.floor(budgetMs / 2)), delayRoomMs);
  const warnings: BudgetWarning[] = [];
  if (drainDelayMs > delayRoomMs) {
    const delay = SETTINGS.drainDelay.env;
    const grace = SETTINGS.gracePeriod.env;
    const capMs = delayCapAt - startedAt;
    warnings.push({
      code: 'drain_delay_cut',
      fields: { drainDelayMs, budgetMs, reserveMs, capMs },
      message: `${delay} (${drainDelayMs} ms) does not fit: delay and drain share ${budgetMs} ms (${grace} less the handlers' share) and the drain keeps ${reserveMs} ms, so the delay is cut to ${capMs} ms; lower ${delay} or raise ${grace} together with terminationGracePeriodSeconds`,
    });
  }
  return { startedAt, deadlineAt, handlerShareMs, drainDeadlineAt, budgetMs, reserveMs, delayCapAt, warnings };
}

/** The handlers' timeout when they start at `now`: their own timeout, or what is left, whichever is less. */
export function handlersTimeoutMs(budget: ShutdownBudget, shutdownHandlerTimeoutMs: number, now: number): number {
  return Math.max(0, Math.min(shutdownHandlerTimeoutMs, budget.deadlineAt - now));
}
