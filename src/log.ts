/**
 * pino JSON logs on stderr: ISO `time`, `level` as a label, `msg`, plus fields.
 * When stderr is a terminal the same records are printed as readable lines instead.
 */
import { writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Logger, DestinationStream } from 'pino';
import type { LineLogger } from './line-log.js';
import { LEVELS, prettyLine } from './pretty.js';

// pino is loaded when the first logger is created, not when this module is imported: importing
// the terminator (as `deputy terminate` and `deputy supervise` do) must not cost pino's ≈ 12 ms.
let pinoModule: typeof import('pino') | undefined;
const loadPino = (): typeof import('pino') => (pinoModule ??= createRequire(import.meta.url)('pino') as typeof import('pino'));

export type { Logger } from 'pino';

/** Environment variable for the log level: trace, debug, info (default), warn, error, fatal, silent. */
export const LOG_LEVEL_ENV = 'DEPUTY_LOG_LEVEL';

export { prettyLine } from './pretty.js';

function destination(): DestinationStream {
  if (process.stderr.isTTY) {
    return { write: (line: string) => void writeSync(2, prettyLine(line)) };
  }
  // Synchronous so that a record written just before process.exit() is never lost.
  return loadPino().pino.destination({ fd: 2, sync: true });
}

/** Creates a logger; `component` tags records from the supervisor, CLI, etc. */
export function createLogger(component?: string, level = process.env[LOG_LEVEL_ENV]): Logger {
  const chosen = level && LEVELS.has(level) ? level : 'info';
  const { pino } = loadPino();
  const logger = pino(
    {
      level: chosen,
      base: component ? { pid: process.pid, component } : { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination(),
  );
  if (level && !LEVELS.has(level)) {
    logger.warn({ [LOG_LEVEL_ENV]: level }, `unknown ${LOG_LEVEL_ENV}; using info (choose one of ${[...LEVELS].join(', ')})`);
  }
  return logger;
}

let shared: Logger | undefined;

/** The process-wide SDK logger, created on first use. */
export function sdkLogger(): Logger {
  shared ??= createLogger('deputy');
  return shared;
}

let routed: LineLogger | undefined;

/**
 * Routes the terminator's own records to `log` (undefined: back to {@link sdkLogger}). The
 * supervisor does, so that binding its socket never loads pino.
 */
export function routeSdkLog(log: LineLogger | undefined): void {
  routed = log;
}

/** The logger the SDK's modules write their own records with: the routed one, else {@link sdkLogger}. */
export function sdkLog(): LineLogger {
  return routed ?? sdkLogger();
}
