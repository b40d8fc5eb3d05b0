/**
 * `createLogger()` for apps: a pino logger whose records have the same shape as k8s-deputy's own
 * (ISO `time`, `level` as a label, `pid`, `component`, `msg`, fields), on stderr, readable lines
 * when stderr is a terminal. pino is loaded when the first logger is created, never by the
 * package's own code paths.
 */
import { writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Logger, DestinationStream } from 'pino';
import { LOG_LEVELS, SETTINGS } from '../contract/settings.js';
import { prettyLine } from '../log/pretty.js';

let pinoModule: typeof import('pino') | undefined;
const loadPino = (): typeof import('pino') => (pinoModule ??= createRequire(import.meta.url)('pino') as typeof import('pino'));

export type { Logger } from 'pino';

/** Environment variable for the log level: trace, debug, info (default), warn, error, fatal, silent. */
export const LOG_LEVEL_ENV = SETTINGS.logLevel.env;

function destination(): DestinationStream {
  if (process.stderr.isTTY) {
    return { write: (line: string) => void writeSync(2, prettyLine(line)) };
  }
  // Synchronous so that a record written just before process.exit() is never lost.
  return loadPino().pino.destination({ fd: 2, sync: true });
}

/** Creates a pino logger; `component` tags its records. Level from DEPUTY_LOG_LEVEL (default info). */
export function createLogger(component?: string, level = process.env[LOG_LEVEL_ENV]): Logger {
  const known = level !== undefined && Object.hasOwn(LOG_LEVELS, level);
  const { pino } = loadPino();
  const logger = pino(
    {
      level: known ? level : SETTINGS.logLevel.defaultValue,
      base: component ? { pid: process.pid, component } : { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination(),
  );
  if (level && !known) {
    logger.warn({ [LOG_LEVEL_ENV]: level }, `unknown ${LOG_LEVEL_ENV}; using info (choose one of ${Object.keys(LOG_LEVELS).join(', ')})`);
  }
  return logger;
}
