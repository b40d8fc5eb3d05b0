/**
 * The supervisor's logger: the same JSON records as src/log.ts (pino's shape: `level` label, ISO
 * `time`, `pid`, `component`, fields, `msg`; readable lines on a terminal) written synchronously to
 * stderr, without loading pino. `deputy supervise` starts on every container start, and pino
 * costs it ≈ 12 ms and 5 MB (see bench/supervisor).
 */
import { writeSync } from 'node:fs';
import { LEVELS, prettyLine } from './pretty.js';

/** Environment variable for the log level (as in log.ts). */
const LOG_LEVEL_ENV = 'DEPUTY_LOG_LEVEL';
/** pino's level numbers. */
const LEVEL_VALUES: Readonly<Record<string, number>> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity };

type Fields = Readonly<Record<string, unknown>>;
type LogMethod = {
  (fields: Fields, msg?: string): void;
  (msg: string): void;
};

/** The subset of pino's Logger the supervisor uses. */
export interface LineLogger {
  readonly debug: LogMethod;
  readonly info: LogMethod;
  readonly warn: LogMethod;
  readonly error: LogMethod;
}

/** pino's standard error serializer, in short: type, message, stack and own enumerable fields. */
function serializeError(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  const own = Object.fromEntries(Object.entries(error).filter(([, value]) => typeof value !== 'function'));
  const cause = error.cause instanceof Error ? { cause: serializeError(error.cause) } : {};
  return { type: error.constructor.name, message: error.message, stack: error.stack, ...own, ...cause };
}

/** Creates a logger tagged with `component`; level from DEPUTY_LOG_LEVEL (default info). */
export function createLineLogger(component: string, level = process.env[LOG_LEVEL_ENV]): LineLogger {
  const chosen = level && LEVELS.has(level) ? level : 'info';
  const threshold = LEVEL_VALUES[chosen]!;
  const pretty = process.stderr.isTTY === true;
  const method = (label: string): LogMethod => {
    const value = LEVEL_VALUES[label]!;
    return ((first: Fields | string, msg?: string) => {
      if (value < threshold) return;
      const fields = typeof first === 'string' ? {} : first;
      const text = typeof first === 'string' ? first : msg;
      const record: Record<string, unknown> = { level: label, time: new Date().toISOString(), pid: process.pid, component };
      for (const [key, field] of Object.entries(fields)) {
        if (field !== undefined) record[key] = key === 'err' ? serializeError(field) : field;
      }
      if (text !== undefined) record.msg = text;
      const line = `${JSON.stringify(record)}\n`;
      try {
        writeSync(2, pretty ? prettyLine(line) : line);
      } catch {
        // stderr is gone (EPIPE, EAGAIN): a log line must never take the init process down
      }
    }) as LogMethod;
  };
  const logger: LineLogger = { debug: method('debug'), info: method('info'), warn: method('warn'), error: method('error') };
  if (level && !LEVELS.has(level)) {
    logger.warn({ [LOG_LEVEL_ENV]: level }, `unknown ${LOG_LEVEL_ENV}; using info (choose one of ${[...LEVELS].join(', ')})`);
  }
  return logger;
}
