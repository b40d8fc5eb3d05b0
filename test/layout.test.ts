// The layout's rule, as a test: src/ is grouped by program, and a file's folder says what it may
// import (the graph: test/import-graph.ts).
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './helpers.js';
import { cycles, folderOf, reach, readGraph, type Graph } from './import-graph.js';

/** What each folder of src/ may import: local folders, and packages beyond node:*. */
export const RULES: Readonly<Record<string, { folders: readonly string[]; packages: readonly string[] }>> = {
  contract: { folders: ['contract'], packages: [] },
  log: { folders: ['contract', 'log'], packages: [] },
  ipc: { folders: ['contract', 'log', 'ipc'], packages: ['unix-dgram'] },
  supervisor: { folders: ['contract', 'log', 'ipc', 'supervisor'], packages: ['koffi'] },
  sdk: { folders: ['contract', 'log', 'ipc', 'sdk'], packages: ['pino', 'prom-client', 'fastify', 'pg', 'redis', 'ioredis'] },
  cli: { folders: ['contract', 'log', 'ipc', 'supervisor', 'cli'], packages: ['yaml'] },
  '.': { folders: ['contract', 'log', 'ipc', 'sdk', 'supervisor', 'cli'], packages: ['fastify'] },
};

/**
 * Start-up paths: what they reach must not load the SDK or these packages. The dispatcher counts
 * with its static imports (it loads the one command it runs); the commands with everything.
 */
const FAST_ENTRIES: ReadonlyArray<[string, boolean]> = [
  ['cli/main.ts', true],
  ['cli/supervise.ts', false],
  ['cli/terminate.ts', false],
  ['cli/probe.ts', false],
  ['supervisor/supervision.ts', false],
];
const HEAVY_PACKAGES = ['pino', 'commander', 'yaml', 'prom-client', 'execa'];


/** Every broken rule, one line each. */
export function layoutViolations(graph: Graph): string[] {
  const problems: string[] = [];
  for (const [file, { local, external }] of graph) {
    const rule = RULES[folderOf(file)];
    if (!rule) {
      problems.push(`${file}: src/${folderOf(file)}/ is not a known program folder (add it to RULES with what it may import)`);
      continue;
    }
    for (const target of local) {
      if (!graph.has(target)) problems.push(`${file} imports ${target}, which does not exist`);
      else if (!rule.folders.includes(folderOf(target))) problems.push(`${file} (${folderOf(file)}) may not import ${target} (${folderOf(target)})`);
    }
    for (const name of external) if (!rule.packages.includes(name)) problems.push(`${file} (${folderOf(file)}) may not import the package ${name}`);
  }
  return problems;
}

const graph = readGraph(join(ROOT, 'src'));

t.test('each folder of src/ imports only what its program may', async (t) => {
  t.ok(graph.size > 20, `read ${graph.size} files`);
  t.same(layoutViolations(graph), []);
});

t.test('supervise, terminate and probe never reach the SDK, pino, commander, yaml or prom-client', async (t) => {
  for (const [entry, staticOnly] of FAST_ENTRIES) {
    t.ok(graph.has(entry), `${entry} exists`);
    const reached = reach(graph, entry, staticOnly);
    for (const [target, path] of reached) {
      if (folderOf(target) === 'sdk' || HEAVY_PACKAGES.includes(target)) t.fail(`${entry} reaches ${target}: ${path.join(' → ')}`);
    }
  }
  // bin/deputy.js is the way in: the dispatcher, or a command's start-up bundle (test/bundle.test.ts).
  const bin = readFileSync(join(ROOT, 'bin', 'deputy.js'), 'utf8');
  t.same([...bin.matchAll(/import\(['"]([^'"]+)['"]\)|require\(['"]([^'"]+)['"]\)/g)].map((match) => match[1] ?? match[2]), ['node:fs', 'node:path', '../dist/cli/main.js']);
});

t.test('no import cycle', async (t) => {
  t.same(cycles(graph).map((cycle) => cycle.join(' → ')), []);
});

t.test('the checks themselves catch what they look for', async (t) => {
  const fake: Graph = new Map([
    ['contract/a.ts', { local: ['log/b.ts'], external: ['yaml'] }],
    ['log/b.ts', { local: ['contract/a.ts'], external: [] }],
    ['cli/probe.ts', { local: ['sdk/deputy.ts'], external: [] }],
    ['cli/main.ts', { local: ['cli/lint.ts'], external: [], dynamic: ['cli/lint.ts'] }],
    ['cli/lint.ts', { local: [], external: ['yaml'] }],
    ['sdk/deputy.ts', { local: [], external: ['pino'] }],
    ['extra/x.ts', { local: [], external: [] }],
  ]);
  const problems = layoutViolations(fake);
  t.match(problems, [/contract\/a\.ts \(contract\) may not import log\/b\.ts/, /may not import the package yaml/, /cli\/probe\.ts \(cli\) may not import sdk\/deputy\.ts/, /src\/extra\/ is not a known program folder/]);
  t.same(cycles(fake).map((cycle) => cycle.join(' → ')), ['contract/a.ts → log/b.ts → contract/a.ts']);
  t.ok(reach(fake, 'cli/probe.ts').has('pino'), 'reach follows files into packages');
  t.ok(reach(fake, 'cli/main.ts').has('yaml'), 'and dynamic imports');
  t.notOk(reach(fake, 'cli/main.ts', true).has('yaml'), 'unless told to follow static imports only');
});
