/**
 * The Deputy's Prometheus metrics, registered in the app's prom-client registry so that one scrape
 * returns them beside the app's own. Sequence: a Deputy given a registry finds the prom-client
 * module that made it (prom-client is an optional peer: with no registry it is never loaded) →
 * the metrics are registered there → gauges read the Deputy's state when scraped (their `collect`),
 * so a scrape never runs a check; check durations and failures are counted as each run ends;
 * shutdown phases are timed from the shutdown's internal observer hook (each phase as it begins,
 * then the record's own durations at the end).
 * Names, types and labels are stable and documented in docs/metrics.md.
 */
import { createRequire } from 'node:module';
import { UsageError } from '../contract/errors.js';
import type { CheckResult } from './check-result.js';
import type { CheckRegistry } from './checks.js';
import type { ConnectionStates } from './drain-connections.js';
import type { ProbeKind } from './health.js';
import type { ShutdownObserver } from './shutdown-observer.js';
import type { ShutdownPhase, ShutdownRecord } from './shutdown-record.js';
import type { MetricsRegistry } from './types.js';

/** What the metrics read of the Deputy. */
export interface MetricsSource {
  /** Whether a probe of `kind` would pass now, from state and the checks' last results. */
  passes(kind: ProbeKind): boolean;
  shuttingDown(): boolean;
  /** The attached servers' connections. */
  connections(): ConnectionStates;
  /** Requests and streams cut at the drain deadline so far. */
  requestsCut(): number;
  /** Tracked work (`deputy.track()`) running now. */
  trackedInFlight(): number;
  /** Adds an observer of the shutdown's phases and its final record. */
  observeShutdown(observer: ShutdownObserver): void;
}

/** The checks of each probe whose results are counted (label `probe`). */
export interface MetricsChecks {
  readonly live: CheckRegistry;
  readonly ready: CheckRegistry;
}

/** Check-duration buckets (seconds): from a cached-connection ping to past the default 1 s timeout. */
const CHECK_DURATION_BUCKETS = Object.freeze([0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);

/** Every metric the Deputy registers: the names are a stable interface (dashboards, alerts). */
const METRIC_NAMES = Object.freeze({
  up: 'deputy_up',
  shuttingDown: 'deputy_shutting_down',
  checkUp: 'deputy_check_up',
  checkDuration: 'deputy_check_duration_seconds',
  checkFailures: 'deputy_check_failures_total',
  requestsInFlight: 'deputy_http_requests_in_flight',
  connections: 'deputy_http_connections',
  trackedInFlight: 'deputy_tracked_work_in_flight',
  phaseSeconds: 'deputy_shutdown_phase_seconds',
  requestsCut: 'deputy_shutdown_requests_cut_total',
});

type Labels = Record<string, string>;

interface MetricConfig {
  readonly name: string;
  readonly help: string;
  readonly labelNames?: readonly string[];
  readonly registers: readonly MetricsRegistry[];
  readonly buckets?: readonly number[];
  readonly collect?: () => void;
}

interface Gauge {
  set(labels: Labels, value: number): void;
  set(value: number): void;
  reset(): void;
}

interface Counter {
  inc(labels: Labels, value?: number): void;
  inc(value?: number): void;
}

interface Histogram {
  observe(labels: Labels, value: number): void;
}

/** The part of the prom-client module used here. */
interface PromClient {
  readonly Registry: unknown;
  readonly Gauge: new (config: MetricConfig) => Gauge;
  readonly Counter: new (config: MetricConfig) => Counter;
  readonly Histogram: new (config: MetricConfig) => Histogram;
}

function isPromClient(value: unknown): value is PromClient {
  const client = value as Partial<PromClient> | null;
  return (
    client !== null &&
    typeof client === 'object' &&
    typeof client.Gauge === 'function' &&
    typeof client.Counter === 'function' &&
    typeof client.Histogram === 'function'
  );
}

/**
 * The prom-client module that made `registry`: metrics must come from the same copy as the
 * registry (an app may hold a copy other than the one this package would resolve). The app
 * has loaded it already, so it is found among the loaded modules; failing that it is resolved
 * from here, as a peer dependency is.
 */
function promClientOf(registry: MetricsRegistry): PromClient {
  const require = createRequire(import.meta.url);
  const registryClass = (registry as object).constructor;
  for (const loaded of Object.values(require.cache)) {
    const exports: unknown = loaded?.exports;
    if (isPromClient(exports) && exports.Registry === registryClass) return exports;
  }
  let client: unknown;
  try {
    client = require('prom-client');
  } catch (error) {
    throw Object.assign(
      new UsageError(`new Deputy({ registry }) needs prom-client (>= 15), which cannot be loaded (${(error as Error).message}): install it in the app (npm install prom-client)`),
      { cause: error },
    );
  }
  if (!isPromClient(client)) throw new UsageError('new Deputy({ registry }): the prom-client module found has no Gauge, Counter or Histogram: install prom-client >= 15');
  return client;
}

function checkRegistry(registry: MetricsRegistry): void {
  const candidate = registry as Partial<MetricsRegistry> | null;
  if (
    candidate === null ||
    typeof candidate !== 'object' ||
    typeof candidate.metrics !== 'function' ||
    typeof candidate.registerMetric !== 'function' ||
    typeof candidate.getSingleMetric !== 'function'
  ) {
    throw new UsageError('new Deputy({ registry }) takes a prom-client Registry (e.g. client.register, or new client.Registry())');
  }
  for (const name of Object.values(METRIC_NAMES)) {
    if (registry.getSingleMetric(name) !== undefined) {
      throw new UsageError(
        `the registry already has a metric named ${name} (another Deputy registered there?): give each Deputy a registry of its own, and merge them with Registry.merge() to serve them together`,
      );
    }
  }
}

const PROBES: readonly ProbeKind[] = ['live', 'ready', 'startup'];
const PHASES = ['delay', 'drain', 'handlers'] as const;

/**
 * How long each shutdown phase took, or has taken so far: timed from when each began (the
 * observer hears of it), and from the final record once it comes (just before the exit).
 */
class PhaseClock {
  readonly #startedAt = new Map<ShutdownPhase, number>();
  #final: ShutdownRecord['phases'] | undefined;

  readonly observer: ShutdownObserver = (phase, record) => {
    if (phase === 'done') this.#final = record?.phases;
    else this.#startedAt.set(phase, performance.now());
  };

  /** Seconds per phase begun, in order; phases not reached are left out. */
  seconds(): Array<[phase: (typeof PHASES)[number], seconds: number]> {
    const out: Array<[(typeof PHASES)[number], number]> = [];
    for (let i = 0; i < PHASES.length; i += 1) {
      const phase = PHASES[i]!;
      const started = this.#startedAt.get(phase);
      if (started === undefined) continue;
      if (this.#final !== undefined) {
        out.push([phase, this.#final[phase].durationMs / 1000]);
        continue;
      }
      // A phase ends when the next begins; the one running now counts up to this scrape.
      const next = PHASES[i + 1] === undefined ? undefined : this.#startedAt.get(PHASES[i + 1]!);
      out.push([phase, ((next ?? performance.now()) - started) / 1000]);
    }
    return out;
  }
}

/** Registers the Deputy's metrics in `registry`; they read `source` and `checks` from then on. */
export function registerDeputyMetrics(registry: MetricsRegistry, source: MetricsSource, checks: MetricsChecks): void {
  checkRegistry(registry);
  const { Gauge, Counter, Histogram } = promClientOf(registry);
  const registers = [registry];

  const up: Gauge = new Gauge({
    name: METRIC_NAMES.up,
    help: 'Whether the probe would pass now (1) or not (0), from state and the last check results; a scrape runs no check.',
    labelNames: ['probe'],
    registers,
    collect: () => {
      for (const probe of PROBES) up.set({ probe }, source.passes(probe) ? 1 : 0);
    },
  });
  const shuttingDown: Gauge = new Gauge({
    name: METRIC_NAMES.shuttingDown,
    help: 'Whether shutdown has begun (1) or not (0).',
    registers,
    collect: () => shuttingDown.set(source.shuttingDown() ? 1 : 0),
  });
  const checkUp: Gauge = new Gauge({
    name: METRIC_NAMES.checkUp,
    help: "The check's last result: 1 passed, 0 failed; absent until the check first ran.",
    labelNames: ['check', 'probe'],
    registers,
    collect: () => {
      for (const [probe, registryOfChecks] of Object.entries(checks)) {
        for (const result of (registryOfChecks as CheckRegistry).lastResults()) checkUp.set({ check: result.name, probe }, result.ok ? 1 : 0);
      }
    },
  });
  const duration = new Histogram({
    name: METRIC_NAMES.checkDuration,
    help: 'How long each check run took (a timed-out run counts its timeout); cache hits are not runs.',
    labelNames: ['check', 'probe'],
    buckets: CHECK_DURATION_BUCKETS,
    registers,
  });
  const failures = new Counter({
    name: METRIC_NAMES.checkFailures,
    help: 'Failed check runs, by the reason code the probe reports (<check> or <check>:<detail>, e.g. db:timeout).',
    labelNames: ['check', 'probe', 'reason'],
    registers,
  });
  for (const [probe, registryOfChecks] of Object.entries(checks)) {
    (registryOfChecks as CheckRegistry).observe((result: CheckResult, elapsedMs: number) => {
      const labels = { check: result.name, probe };
      duration.observe(labels, elapsedMs / 1000);
      if (!result.ok) failures.inc({ check: result.name, probe, reason: result.reason ?? result.name });
    });
  }
  const inFlight: Gauge = new Gauge({
    name: METRIC_NAMES.requestsInFlight,
    help: 'Requests (HTTP/1) and streams (HTTP/2) in flight on the servers given to deputy.attach().',
    registers,
    collect: () => inFlight.set(source.connections().inFlight),
  });
  const connections: Gauge = new Gauge({
    name: METRIC_NAMES.connections,
    help: 'Open connections on the servers given to deputy.attach(): active (a request in flight), idle (keep-alive or unused), upgraded (WebSocket, CONNECT).',
    labelNames: ['state'],
    registers,
    collect: () => {
      const states = source.connections();
      connections.set({ state: 'active' }, states.active);
      connections.set({ state: 'idle' }, states.idle);
      connections.set({ state: 'upgraded' }, states.upgraded);
    },
  });
  const tracked: Gauge = new Gauge({
    name: METRIC_NAMES.trackedInFlight,
    help: 'Work tracked with deputy.track() and still running.',
    registers,
    collect: () => tracked.set(source.trackedInFlight()),
  });
  const clock = new PhaseClock();
  source.observeShutdown(clock.observer);
  const phaseSeconds: Gauge = new Gauge({
    name: METRIC_NAMES.phaseSeconds,
    help: 'How long each shutdown phase took, or has taken so far while it runs; absent until the phase begins.',
    labelNames: ['phase'],
    registers,
    collect: () => {
      for (const [phase, seconds] of clock.seconds()) phaseSeconds.set({ phase }, seconds);
    },
  });
  // Read from the drain as requests are cut, so a scrape during the handlers phase sees them.
  let cutCounted = 0;
  const requestsCut: Counter = new Counter({
    name: METRIC_NAMES.requestsCut,
    help: 'Requests and streams still in flight at the drain deadline, cut when their connections were destroyed.',
    registers,
    collect: () => {
      const cut = source.requestsCut();
      if (cut > cutCounted) requestsCut.inc(cut - cutCounted);
      cutCounted = cut;
    },
  });
}
