// The shutdown budget, a pure function: how one grace period is split between the drain delay,
// the drain and the handlers (src/sdk/shutdown-budget.ts), case by case.
import t from 'tap';
import { handlersTimeoutMs, shutdownBudget, type ShutdownBudgetInput } from '../src/sdk/shutdown-budget.js';

const START = 1_000_000;
const budget = (input: Partial<ShutdownBudgetInput>) =>
  shutdownBudget({ startedAt: START, gracePeriodMs: 30_000, drainDelayMs: 0, handlerCount: 1, shutdownHandlerTimeoutMs: 5000, ...input });
/** The figures relative to the start, for readable expectations. */
const relative = (input: Partial<ShutdownBudgetInput>) => {
  const b = budget(input);
  return {
    deadline: b.deadlineAt - START,
    handlerShare: b.handlerShareMs,
    drainDeadline: b.drainDeadlineAt - START,
    budget: b.budgetMs,
    reserve: b.reserveMs,
    delayCap: b.delayCapAt - START,
    warnings: b.warnings.map((w) => w.code),
  };
};

t.test('the defaults in a pod: 30 s, one handler with 5 s, a 5 s delay', async (t) => {
  t.same(relative({ drainDelayMs: 5000 }), {
    deadline: 30_000,
    handlerShare: 5000,
    drainDeadline: 25_000,
    budget: 25_000,
    reserve: 6250, // a quarter of what delay and drain share
    delayCap: 12_500, // the delay may wait for quiet up to half of it
    warnings: [],
  });
});

t.test('no handlers: delay and drain share the whole grace period', async (t) => {
  t.match(relative({ handlerCount: 0 }), { handlerShare: 0, drainDeadline: 30_000, budget: 30_000, reserve: 7500, delayCap: 15_000 });
});

t.test("the handlers' share is min(shutdownHandlerTimeoutMs, half the grace period)", async (t) => {
  t.equal(relative({ gracePeriodMs: 600, shutdownHandlerTimeoutMs: 5000 }).handlerShare, 300);
  t.equal(relative({ gracePeriodMs: 1600, shutdownHandlerTimeoutMs: 800 }).handlerShare, 800);
  t.equal(relative({ gracePeriodMs: 1601, shutdownHandlerTimeoutMs: 5000 }).handlerShare, 800, 'rounded down');
});

t.test('the drain keeps max(1 s, a quarter), at most half', async (t) => {
  t.equal(relative({ gracePeriodMs: 1600, shutdownHandlerTimeoutMs: 800 }).reserve, 400, 'short budgets: half');
  t.equal(relative({ gracePeriodMs: 3000, shutdownHandlerTimeoutMs: 1000 }).reserve, 1000, '1 s');
  t.equal(relative({ gracePeriodMs: 60_000, handlerCount: 0 }).reserve, 15_000, 'a quarter');
});

t.test('a delay that does not fit is cut, with a warning naming both variables', async (t) => {
  // As in test/drain-budget.test.ts: grace 3 s, handlers 1 s, so delay and drain share 2 s and the
  // drain keeps 1 s.
  const b = budget({ gracePeriodMs: 3000, shutdownHandlerTimeoutMs: 1000, drainDelayMs: 3000 });
  t.equal(b.delayCapAt - START, 1000);
  t.equal(b.warnings.length, 1);
  const [warning] = b.warnings;
  t.same(warning!.fields, { drainDelayMs: 3000, budgetMs: 2000, reserveMs: 1000, capMs: 1000 });
  t.match(warning!.message, /^DEPUTY_DRAIN_DELAY \(3000 ms\) does not fit: .*cut to 1000 ms; lower DEPUTY_DRAIN_DELAY or raise DEPUTY_GRACE_PERIOD together with terminationGracePeriodSeconds$/);
});

t.test('a delay that fits lasts at least drainDelayMs, longer than half the budget when asked', async (t) => {
  t.same(relative({ drainDelayMs: 18_750 }).delayCap, 18_750, 'exactly what fits: no warning');
  t.same(relative({ drainDelayMs: 18_750 }).warnings, []);
  t.same(relative({ drainDelayMs: 18_751 }).warnings, ['drain_delay_cut']);
  t.equal(relative({ drainDelayMs: 1000 }).delayCap, 12_500, 'a short delay may still wait for quiet up to half');
});

t.test('a zero grace period: everything at once', async (t) => {
  t.same(relative({ gracePeriodMs: 0 }), { deadline: 0, handlerShare: 0, drainDeadline: 0, budget: 0, reserve: 0, delayCap: 0, warnings: [] });
  t.same(relative({ gracePeriodMs: 0, drainDelayMs: 1 }).warnings, ['drain_delay_cut']);
});

t.test("the handlers' timeout: their own, or what is left, never negative", async (t) => {
  const b = budget({});
  t.equal(handlersTimeoutMs(b, 5000, START + 25_000), 5000, 'on time: their own timeout');
  t.equal(handlersTimeoutMs(b, 5000, START + 28_000), 2000, 'late: what is left');
  t.equal(handlersTimeoutMs(b, 5000, START + 31_000), 0, 'past the deadline: none');
  t.equal(handlersTimeoutMs(b, 100, START), 100);
});
