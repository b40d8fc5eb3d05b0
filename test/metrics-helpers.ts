// Shared by the test/metrics-*.test.ts suites: a Prometheus exposition scraped over HTTP and
// parsed into samples.
import type { Test } from 'tap';
import { get } from './probe-http.js';

/** Samples of an exposition, keyed `name{k="v",…}` with the labels sorted. */
export function parse(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not an exposition line: ${line}`);
    const labels = [...(match[2] ?? '').matchAll(/([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"/g)].map((m) => `${m[1]}="${m[2]}"`).sort();
    samples.set(`${match[1]}{${labels.join(',')}}`, Number(match[3]));
  }
  return samples;
}

/** The key `parse` gives a sample. */
export function key(name: string, labels: Record<string, string> = {}): string {
  return `${name}{${Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .sort()
    .join(',')}}`;
}

export async function scrape(t: Test, port: number, headers: Record<string, string> = {}): Promise<Map<string, number>> {
  const answer = await get(port, '/metrics', headers);
  t.equal(answer.status, 200, 'scrape answered 200');
  return parse(answer.text);
}
