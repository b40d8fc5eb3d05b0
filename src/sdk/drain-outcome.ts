/**
 * What a drain did, and how it is logged. Kept apart from drain.ts, which produces it: this is
 * the record the shutdown sequence logs and the public `DrainOutcome` type, not drain mechanics.
 */
import { sdkLog } from '../log/logger.js';

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
      `drain deadline reached: destroyed ${outcome.destroyed} connections (${outcome.requestsCut} requests cut${upgraded}); to let them finish, raise DEPUTY_GRACE_PERIOD together with the pod's terminationGracePeriodSeconds, or make long requests shorter (and close upgraded connections at shutdown)`,
    );
  } else {
    log.info({ phase: 'drain', ...outcome }, 'drain complete');
  }
}
