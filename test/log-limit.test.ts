// LogLimiter: the first few occurrences of an event per window are logged, the rest counted and
// summarised — at the window's end, at the next occurrence after it, at flush() or at exit.
import t from 'tap';
import type { LineLogger } from '../src/log/logger.js';
import { LOG_BURST, LogLimiter, type RepeatedEvent } from '../src/log/limit.js';
import { spawnFixture } from './helpers.js';

interface Written {
  readonly level: string;
  readonly fields: Record<string, unknown>;
  readonly msg: string | undefined;
}

/** A logger that keeps what it is given; `onWrite` sees each record as it comes. */
function capture(onWrite: (record: Written) => void = () => {}): { log: LineLogger; records: Written[] } {
  const records: Written[] = [];
  const method =
    (level: string) =>
    (first: Record<string, unknown> | string, msg?: string): void => {
      const record = typeof first === 'string' ? { level, fields: {}, msg: first } : { level, fields: first, msg };
      records.push(record);
      onWrite(record);
    };
  const log = { debug: method('debug'), info: method('info'), warn: method('warn'), error: method('error') } as LineLogger;
  return { log, records };
}

const DATAGRAM: RepeatedEvent = { event: 'ignored-datagram', level: 'warn', what: 'ignored datagrams' };
const REAPED: RepeatedEvent = { event: 'orphans-reaped', level: 'debug', what: '"orphans reaped" records', sum: 'count' };
const isSummary = (record: Written): boolean => typeof record.fields.suppressed === 'number';

/** A clock the test moves by hand. */
function clock(startMs = 1000): { now: () => number; advance: (ms: number) => void } {
  let nowMs = startMs;
  return { now: () => nowMs, advance: (ms) => void (nowMs += ms) };
}

t.test('the first occurrences are logged, the rest counted into one summary at flush', async (t) => {
  const { log, records } = capture();
  const time = clock();
  const limiter = new LogLimiter(log, { now: time.now });
  for (let i = 0; i < 20_000; i++) {
    limiter.log(DATAGRAM, { i }, 'ignored a datagram');
    time.advance(1);
  }
  t.equal(records.length, LOG_BURST, `only the first ${LOG_BURST} are written while the window lasts`);
  t.same(
    records.map((r) => r.fields.i),
    [0, 1, 2, 3, 4],
  );
  t.ok(records.every((r) => r.level === 'warn' && r.msg === 'ignored a datagram'));
  limiter.flush();
  const summary = records[LOG_BURST]!;
  t.equal(records.length, LOG_BURST + 1, 'flush writes one summary');
  t.same(summary.fields, { event: 'ignored-datagram', suppressed: 19_995, sinceMs: 19_995 });
  t.equal(summary.level, 'warn', 'at the level of the event');
  t.match(summary.msg, /^19995 more ignored datagrams in the last 20 s \(logging the first 5 in each 60 s\)$/);
  limiter.flush();
  t.equal(records.length, LOG_BURST + 1, 'a second flush has nothing to add');
  limiter.log(DATAGRAM, {}, 'ignored a datagram');
  t.equal(records.length, LOG_BURST + 1, 'the window goes on after a flush: still counted, not logged');
  limiter.flush();
  t.equal(records.at(-1)?.fields.suppressed, 1);
});

t.test('an occurrence after the window summarises it first, then starts a new one', async (t) => {
  const { log, records } = capture();
  const time = clock();
  const limiter = new LogLimiter(log, { burst: 2, windowMs: 1000, now: time.now });
  for (let i = 0; i < 5; i++) limiter.log(DATAGRAM, { i }, 'ignored a datagram');
  time.advance(1000);
  limiter.log(DATAGRAM, { i: 5 }, 'ignored a datagram');
  t.same(
    records.map((r) => (isSummary(r) ? `summary ${String(r.fields.suppressed)}` : r.fields.i)),
    [0, 1, 'summary 3', 5],
    'summary of the old window, then the first of the new one logged',
  );
  t.equal(records[2]!.fields.sinceMs, 1000);
  limiter.flush();
});

t.test('events are limited separately; a summary adds up the `sum` field', async (t) => {
  const { log, records } = capture();
  const limiter = new LogLimiter(log, { burst: 1 });
  for (let i = 0; i < 4; i++) {
    limiter.log(REAPED, { count: 10 }, 'orphans reaped');
    limiter.log(DATAGRAM, {}, 'ignored a datagram');
  }
  limiter.flush();
  const summaries = records.filter(isSummary);
  t.equal(records.length - summaries.length, 2, 'one record of each event');
  t.same(summaries.find((r) => r.fields.event === 'orphans-reaped')?.fields, { event: 'orphans-reaped', suppressed: 3, sinceMs: summaries[0]!.fields.sinceMs, count: 30 });
  t.equal(summaries.find((r) => r.fields.event === 'orphans-reaped')?.level, 'debug');
  t.equal(summaries.find((r) => r.fields.event === 'ignored-datagram')?.fields.suppressed, 3);
});

t.test('the window end writes the summary by itself (timer)', async (t) => {
  let summarised: (record: Written) => void = () => {};
  const summary = new Promise<Written>((resolve) => (summarised = resolve));
  const { log, records } = capture((record) => isSummary(record) && summarised(record));
  const limiter = new LogLimiter(log, { burst: 3, windowMs: 200 });
  for (let i = 0; i < 50; i++) limiter.log(DATAGRAM, { i }, 'ignored a datagram');
  const deadline = setTimeout(() => summarised({ level: 'none', fields: {}, msg: 'no summary within 10 s' }), 10_000);
  const written = await summary;
  clearTimeout(deadline);
  t.equal(written.fields.suppressed, 47, 'written when the window ended, with nothing else happening');
  t.equal(records.length, 4);
  limiter.log(DATAGRAM, { i: 50 }, 'ignored a datagram');
  t.equal(records.at(-1)?.fields.i, 50, 'the next occurrence opens a new window and is logged');
  limiter.flush();
});

t.test('at most 2 × (burst + 1) records in any 60 s, whatever the rate; every occurrence counted', async (t) => {
  const { log, records } = capture();
  const time = clock();
  const limiter = new LogLimiter(log, { now: time.now });
  const at: number[] = [];
  const occurrences = 100_000;
  for (let i = 0; i < occurrences; i++) {
    const before = records.length;
    limiter.log(DATAGRAM, {}, 'ignored a datagram');
    for (let k = before; k < records.length; k++) at.push(time.now());
    time.advance(3); // 5 minutes in all
  }
  limiter.flush();
  at.push(time.now());
  let worst = 0;
  for (let i = 0; i < at.length; i++) worst = Math.max(worst, at.filter((ms) => ms >= at[i]! && ms < at[i]! + 60_000).length);
  t.ok(worst <= 2 * (LOG_BURST + 1), `at most ${worst} records in a 60 s span`);
  const logged = records.filter((r) => !isSummary(r)).length;
  const suppressed = records.filter(isSummary).reduce((n, r) => n + (r.fields.suppressed as number), 0);
  t.equal(logged + suppressed, occurrences, 'logged and summarised add up to every occurrence');
});

t.test('a real process: a pending summary does not keep it alive and is written at exit', async (t) => {
  const app = spawnFixture(t, 'log-limit-app.js', {}, ['1000']);
  const started = Date.now();
  const { status } = await app.exited; // a 60 s window: a ref'd timer would hold it that long
  t.equal(status, 0);
  t.ok(Date.now() - started < 30_000, `it exited by itself after ${Date.now() - started} ms`);
  t.equal(app.logs.filter((r) => r.msg === 'fixture event').length, LOG_BURST);
  const summary = app.logs.find((r) => r.event === 'fixture-event');
  t.equal(summary?.suppressed, 1000 - LOG_BURST, 'the summary came at exit');
  t.equal(summary?.level, 'warn');
  t.equal(app.logs.length, LOG_BURST + 1);
});
