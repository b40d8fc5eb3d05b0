/** The terminal format of log records, for people at a terminal and for `npm run demo`. */

/** Turns one JSON record into `HH:MM:SS.mmm LEVEL msg key=value …` for people at a terminal. */
export function prettyLine(json: string): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const { time, level, msg, pid, ...fields } = record;
  const clock = typeof time === 'string' ? time.slice(11, 23) : '';
  const rest = Object.entries(fields)
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' ');
  return `${clock} ${String(level).toUpperCase().padEnd(5)} [${String(pid)}] ${String(msg ?? '')}${rest ? ` ${rest}` : ''}\n`;
}
