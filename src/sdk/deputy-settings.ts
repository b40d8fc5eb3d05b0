/**
 * The Deputy's settings: each option, else its DEPUTY_* variable (src/contract/settings.ts), else
 * the default there; validated once, at construction, so a bad value fails at start-up and not
 * in the middle of a shutdown.
 */
import { MAX_TIMER_MS, checkNonNegativeInteger, parseDuration } from '../contract/duration.js';
import { UsageError } from '../contract/errors.js';
import { KUBERNETES_DRAIN_DELAY_MS, KUBERNETES_ENV, SETTINGS, settingText, type Setting } from '../contract/settings.js';
import type { DeputyOptions, ServeOptions } from './types.js';

/** Environment variable: health server port (default 8081). */
export const HEALTH_CHECK_PORT_ENV = SETTINGS.healthCheckPort.env;
/** Environment variable: health server interface (default 0.0.0.0). */
export const HEALTH_CHECK_HOST_ENV = SETTINGS.healthCheckHost.env;
/** Environment variable: the whole shutdown's deadline, a duration (default 30s). */
export const GRACE_PERIOD_ENV = SETTINGS.gracePeriod.env;
/** Environment variable: minimum drain delay, a duration (default 5s in Kubernetes, else 0). */
export const DRAIN_DELAY_ENV = SETTINGS.drainDelay.env;
/** Environment variable: quiet window that ends the drain delay, a duration (default 1s). */
export const DRAIN_QUIET_ENV = SETTINGS.drainQuiet.env;

export interface DeputySettings {
  readonly gracePeriodMs: number;
  readonly drainDelayMs: number;
  readonly drainQuietMs: number;
  readonly handlerTimeoutMs: number;
  readonly failureExitCode: number;
  readonly livenessFailsOnShutdown: boolean;
  readonly shutdownOnCrash: boolean;
}

function durationSetting(definition: Setting<number>, fallback: number): number {
  const text = settingText(definition);
  return text === undefined ? fallback : parseDuration(text, definition.env);
}

export function deputySettings(options: DeputyOptions): DeputySettings {
  const { shutdownHandlerTimeoutMs = 5000, failureExitCode = 1, livenessFailsOnShutdown = false, shutdownOnCrash = false } = options;
  checkNonNegativeInteger(shutdownHandlerTimeoutMs, 'shutdownHandlerTimeoutMs', MAX_TIMER_MS);
  checkNonNegativeInteger(failureExitCode, 'failureExitCode', 255);
  const inKubernetes = Boolean(process.env[KUBERNETES_ENV]);
  const {
    gracePeriodMs = durationSetting(SETTINGS.gracePeriod, SETTINGS.gracePeriod.defaultValue),
    drainDelayMs = durationSetting(SETTINGS.drainDelay, inKubernetes ? KUBERNETES_DRAIN_DELAY_MS : SETTINGS.drainDelay.defaultValue),
    drainQuietMs = durationSetting(SETTINGS.drainQuiet, SETTINGS.drainQuiet.defaultValue),
  } = options;
  checkNonNegativeInteger(gracePeriodMs, 'gracePeriodMs', MAX_TIMER_MS);
  checkNonNegativeInteger(drainDelayMs, 'drainDelayMs', MAX_TIMER_MS);
  checkNonNegativeInteger(drainQuietMs, 'drainQuietMs', MAX_TIMER_MS);
  return {
    gracePeriodMs,
    drainDelayMs,
    drainQuietMs,
    handlerTimeoutMs: shutdownHandlerTimeoutMs,
    failureExitCode,
    livenessFailsOnShutdown: livenessFailsOnShutdown === true,
    shutdownOnCrash: shutdownOnCrash === true,
  };
}

/** Where the health server listens: the options, else the environment, else the defaults. */
export function healthAddress(options: ServeOptions): { port: number; host: string } {
  let port = options.port;
  if (port === undefined) {
    const text = settingText(SETTINGS.healthCheckPort);
    port = text === undefined ? SETTINGS.healthCheckPort.defaultValue : Number(text);
    if (text !== undefined && (!/^[0-9]+$/.test(text) || port > 65535)) {
      throw new UsageError(`${HEALTH_CHECK_PORT_ENV}=${JSON.stringify(text)} is not a TCP port (0-65535)`);
    }
  }
  const host = options.host ?? settingText(SETTINGS.healthCheckHost) ?? SETTINGS.healthCheckHost.defaultValue;
  return { port, host };
}
