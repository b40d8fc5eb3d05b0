/**
 * What the drain delay and the drain did, and how it is logged. Kept apart from drain.ts, which
 * produces it: this is what the shutdown sequence logs and the public `DrainOutcome` type, not
 * drain mechanics.
 */
import { SETTINGS } from '../contract/settings.js';
import { sdkLog } from '../log/logger.js';
import type { DelayReason } from './shutdown-record.js';

const GRACE = SETTINGS.gracePeriod.env;
const DELAY = SETTINGS.drainDelay.env;

/** What the drain did, for the logs. */
export interface DrainOutcome {
  readonly outcome: 'drained' | 'deadline';
  readonly durationMs: number;
  /** Requests or streams in flight when listening stopped. */
  readonly inFlight: number;
  /** Connections open when listening stopped. */
  readonly connections: number;
  /** Keep-alive sockets that ended idle, never told to close: after their advertised timeout. */
  readonly closedIdle: number;
  /** Connections that ended after `Connection: close` or GOAWAY. */
  readonly closedGracefully: number;
  /** Connections destroyed at the deadline. */
  readonly destroyed: number;
  /** Requests or streams cut at the deadline. */
  readonly requestsCut: number;
  /** Upgraded connections (WebSocket, CONNECT) open when listening stopped. */
  readonly upgraded: number;
  /** Upgraded connections that ended during the drain (closed by the app or the client). */
  readonly upgradedClosed: number;
  /** Upgraded connections destroyed at the deadline (included in `destroyed`). */
  readonly upgradedCut: number;
}

/** Logs one drain outcome at the right level. */
export function logDrainOutcome(outcome: DrainOutcome): void {
  const log = sdkLog();
  if (outcome.outcome === 'deadline') {
    const upgraded = outcome.upgradedCut > 0 ? `, ${outcome.upgradedCut} upgraded (WebSocket/CONNECT) connections` : '';
    log.warn(
      { phase: 'drain', ...outcome },
      `drain deadline reached: destroyed ${outcome.destroyed} connections (${outcome.requestsCut} requests cut${upgraded}); to let them finish, raise ${GRACE} together with the pod's terminationGracePeriodSeconds, or make long requests shorter (and close upgraded connections at shutdown)`,
    );
  } else {
    log.info({ phase: 'drain', ...outcome }, 'drain complete');
  }
}

/** How the drain delay ended, for the logs. */
export interface DelayOutcome {
  readonly reason: DelayReason;
  readonly durationMs: number;
  /** Since the last new connection; null when none came. */
  readonly lastConnectionAgoMs: number | null;
}

/**
 * Logs the end of the drain delay: a warning when it ended at its cap, which says why — the
 * configured delay did not fit under the cap (`delayOverCap`, warned about when it began), or
 * connections were still arriving.
 */
export function logDelayOutcome(outcome: DelayOutcome, delayOverCap: boolean): void {
  const log = sdkLog();
  const fields = { phase: 'delay', ...outcome };
  if (outcome.reason === 'cap' && delayOverCap) {
    log.warn(fields, `drain delay ended at its cap after ${outcome.durationMs} ms, short of ${DELAY} (see the warning above)`);
  } else if (outcome.reason === 'cap') {
    log.warn(
      fields,
      `drain delay ended at its cap after ${outcome.durationMs} ms; new connections were still arriving, so endpoint removal is slower than the cap: check the readiness probe (periodSeconds × failureThreshold) and raise ${DELAY}, or ${GRACE} together with terminationGracePeriodSeconds`,
    );
  } else {
    log.info(fields, `drain delay ended (${outcome.reason}) after ${outcome.durationMs} ms`);
  }
}
