/**
 * The one logger of every program: pino's record shape (`level` label, ISO `time`, `pid`,
 * `component`, fields, `msg`; errors as pino's serializer writes them) as one JSON line,
 * written synchronously to stderr so that a record written just before `process.exit()` is never
 * lost; readable lines instead when stderr is a terminal. No dependency: `deputy supervise`
 * starts on every container start, and pino would cost it ≈ 12 ms and 5 MB (bench/supervisor).
 */
import { writeSync } from 'node:fs';
import { LOG_LEVELS, SETTINGS, type LogLevel } from '../contract/settings.js';
import { prettyLine } from './pretty.js';

type Fields = Readonly<Record<string, unknown>>;
type LogMethod = {
  (fields: Fields, msg?: string): void;
  (msg: string): void;
};

/** The subset of pino's Logger that k8s-deputy writes with. */
export interface LineLogger {
  readonly trace: LogMethod;
  readonly debug: LogMethod;
  readonly info: LogMethod;
  readonly warn: LogMethod;
  readonly error: LogMethod;
  readonly fatal: LogMethod;
  /** True when records of `level` are written. */
  isLevelEnabled(level: LogLevel): boolean;
}

const isLevel = (text: string): text is LogLevel => Object.hasOwn(LOG_LEVELS, text);

const pad = (value: number, width = 2): string => String(value).padStart(width, '0');

/**
 * `new Date(ms).toISOString()`, built from the UTC fields: V8's toISOString costs ≈ 0.8 ms on its
 * first call, and the first record of `deputy supervise` is on every container start.
 */
export function isoTime(ms: number): string {
  const date = new Date(ms);
  const year = date.getUTCFullYear();
  if (year < 0 || year > 9999) return date.toISOString(); // ±YYYYYY: not worth a copy
  return `${pad(year, 4)}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}T${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}.${pad(date.getUTCMilliseconds(), 3)}Z`;
}

/** pino's standard error serializer, in short: type, message, stack and own enumerable fields. */
function serializeError(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  const own = Object.fromEntries(Object.entries(error).filter(([, value]) => typeof value !== 'function'));
  const cause = error.cause instanceof Error ? { cause: serializeError(error.cause) } : {};
  return { type: error.constructor.name, message: error.message, stack: error.stack, ...own, ...cause };
}

/** Creates a logger tagged with `component`; level from DEPUTY_LOG_LEVEL (default info). */
export function createLineLogger(component: string, level = process.env[SETTINGS.logLevel.env]): LineLogger {
  const chosen: LogLevel = level && isLevel(level) ? level : SETTINGS.logLevel.defaultValue;
  const threshold = LOG_LEVELS[chosen];
  // isatty(2), not process.stderr.isTTY: the getter builds a whole stream (a socket for a pipe) that
  // writeSync never uses. Asked at the first line written, so that a start that writes none (the
  // supervisor below `info`) does not load node:tty.
  let pretty: boolean | undefined;
  const method = (label: Exclude<LogLevel, 'silent'>): LogMethod => {
    const value = LOG_LEVELS[label];
    return ((first: Fields | string, msg?: string) => {
      if (value < threshold) return;
      const fields = typeof first === 'string' ? {} : first;
      const text = typeof first === 'string' ? first : msg;
      const record: Record<string, unknown> = { level: label, time: isoTime(Date.now()), pid: process.pid, component };
      for (const [key, field] of Object.entries(fields)) {
        if (field !== undefined) record[key] = key === 'err' ? serializeError(field) : field;
      }
      if (text !== undefined) record.msg = text;
      const line = `${JSON.stringify(record)}\n`;
      try {
        writeSync(2, (pretty ??= process.getBuiltinModule('node:tty').isatty(2)) ? prettyLine(line) : line);
      } catch {
        // stderr is gone (EPIPE, EAGAIN): a log line must never take the process down
      }
    }) as LogMethod;
  };
  const logger: LineLogger = {
    trace: method('trace'),
    debug: method('debug'),
    info: method('info'),
    warn: method('warn'),
    error: method('error'),
    fatal: method('fatal'),
    isLevelEnabled: (wanted) => LOG_LEVELS[wanted] >= threshold,
  };
  if (level && !isLevel(level)) {
    const env = SETTINGS.logLevel.env;
    logger.warn({ [env]: level }, `unknown ${env}; using info (choose one of ${Object.keys(LOG_LEVELS).join(', ')})`);
  }
  return logger;
}

let shared: LineLogger | undefined;

/** The process-wide logger of the SDK's own records (component `deputy`), created on first use. */
export function sdkLog(): LineLogger {
  shared ??= createLineLogger('deputy');
  return shared;
}
