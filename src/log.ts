/**
 * pino JSON logs on stderr: ISO `time`, `level` as a label, `msg`, plus fields.
 * When stderr is a terminal the same records are printed as readable lines instead.
 */
import { writeSync } from 'node:fs';
import { pino, type Logger, type DestinationStream } from 'pino';
import { LEVELS, prettyLine } from './pretty.js';

export type { Logger } from 'pino';

/** Environment variable for the log level: trace, debug, info (default), warn, error, fatal, silent. */
export const LOG_LEVEL_ENV = 'DEPUTY_LOG_LEVEL';

export { prettyLine } from './pretty.js';

function destination(): DestinationStream {
  if (process.stderr.isTTY) {
    return { write: (line: string) => void writeSync(2, prettyLine(line)) };
  }
  // Synchronous so that a record written just before process.exit() is never lost.
  return pino.destination({ fd: 2, sync: true });
}

/** Creates a logger; `component` tags records from the supervisor, CLI, etc. */
export function createLogger(component?: string, level = process.env[LOG_LEVEL_ENV]): Logger {
  const chosen = level && LEVELS.has(level) ? level : 'info';
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
