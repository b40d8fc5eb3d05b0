// One source of truth: the shell shim mirrors src/contract/settings.ts and src/contract/protocol.ts
// (it stays bash), and this test holds it to them. The docs' tables are checked against the same
// table in test/docs.test.ts.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SETTINGS, type Setting } from '../src/contract/settings.js';
import { ENTRYPOINT_PID_FILE, PRESTOP_MARKER_PREFIX, TERMINATE_MESSAGE } from '../src/contract/protocol.js';
import { PROBE_KIND_PATHS } from '../src/contract/probes.js';
import { ROOT } from './helpers.js';

const shim = Object.fromEntries(['supervise.sh', 'probe.sh'].map((name) => [name, readFileSync(join(ROOT, 'shim', name), 'utf8')]));
const all = Object.values(shim).join('\n');
const settings: Array<Setting<unknown>> = Object.values(SETTINGS);

/** `${NAME:-default}` expansions in the shim, by variable. */
function shimDefaults(text: string): Map<string, Set<string>> {
  const found = new Map<string, Set<string>>();
  for (const match of text.matchAll(/\$\{(DEPUTY_[A-Z_]+):-([^}]*)\}/g)) {
    if (!found.has(match[1]!)) found.set(match[1]!, new Set());
    found.get(match[1]!)!.add(match[2]!);
  }
  return found;
}

/** What the shim may write where the contract has a default: the probe asks loopback for a wildcard bind. */
const SHIM_DEFAULT_EXCEPTIONS: Readonly<Record<string, string>> = { DEPUTY_HEALTH_CHECK_HOST: '127.0.0.1' };

t.test('every DEPUTY_* variable the shim reads is a setting the contract says the shim reads, and back', async (t) => {
  const used = new Set([...all.matchAll(/\bDEPUTY_[A-Z_]+\b/g)].map((match) => match[0]));
  for (const name of used) {
    const setting = settings.find((candidate) => candidate.env === name);
    t.ok(setting?.readBy.includes('shim'), `${name} is in SETTINGS with readBy shim`);
  }
  for (const setting of settings.filter((candidate) => candidate.readBy.includes('shim'))) t.ok(used.has(setting.env), `the shim reads ${setting.env}`);
});

t.test("the shim's defaults are the contract's", async (t) => {
  const defaults = shimDefaults(all);
  t.ok(defaults.size >= 5, `read ${defaults.size} defaults from the shim`);
  for (const [name, values] of defaults) {
    const setting = settings.find((candidate) => candidate.env === name)!;
    const expected = SHIM_DEFAULT_EXCEPTIONS[name] ?? String(setting.defaultValue);
    for (const value of values) {
      // Durations are written in the shim as the docs write them (25s); the contract holds ms.
      const same = value === expected || value === setting.defaultText || value === ''; // ${X:-} only asks whether X is set
      t.ok(same, `${name}: shim default ${JSON.stringify(value)} is the contract's ${JSON.stringify(setting.defaultText)}`);
    }
  }
  // The check can fail: a changed default is seen.
  const drifted = shimDefaults('x=${DEPUTY_TIMEOUT:-30s}').get('DEPUTY_TIMEOUT')!;
  t.notOk(drifted.has(SETTINGS.timeout.defaultText), 'a drifted default is caught');
});

t.test("the shim's IPC names and probe paths are the protocol's", async (t) => {
  t.match(shim['supervise.sh'], ENTRYPOINT_PID_FILE);
  t.match(shim['supervise.sh'], PRESTOP_MARKER_PREFIX);
  t.match(shim['supervise.sh'], `graceful-terminator.`);
  t.match(shim['supervise.sh'], TERMINATE_MESSAGE);
  for (const path of Object.values(PROBE_KIND_PATHS)) t.match(shim['probe.sh'], path, `probe.sh asks ${path}`);
});
