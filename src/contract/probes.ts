/**
 * The probe endpoints: which paths the health server answers and which one each kind of
 * `deputy probe` (and shim/probe.sh) asks.
 */

/** Which probe a path answers. */
export type ProbeKind = 'live' | 'ready' | 'startup';

/** Probe paths, matched exactly after the query string is dropped. */
export const PROBE_PATHS: Readonly<Record<string, ProbeKind>> = Object.freeze({
  '/health/live': 'live',
  '/livez': 'live',
  '/healthz': 'live',
  '/health/ready': 'ready',
  '/readyz': 'ready',
  '/startupz': 'startup',
});

/** The endpoint each probe kind asks by default. */
export const PROBE_KIND_PATHS = Object.freeze({ live: '/livez', ready: '/readyz', startup: '/startupz' } as const satisfies Record<ProbeKind, string>);

/** The probe kind a request path names, or undefined. */
export function probeKindOf(url: string | undefined): ProbeKind | undefined {
  const raw = url ?? '/';
  const query = raw.indexOf('?');
  const path = query < 0 ? raw : raw.slice(0, query);
  return Object.hasOwn(PROBE_PATHS, path) ? PROBE_PATHS[path] : undefined;
}
