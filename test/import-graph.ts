// The import graph of src/, read from the sources themselves (static imports, re-exports, dynamic
// import() and createRequire(...)('pkg')), type-only imports included: a newcomer reads them too.
// Used by test/layout.test.ts (the layout's rule) and test/bundle.test.ts (the start-up bundles).
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

export type Graph = Map<string, { local: string[]; external: string[]; dynamic?: string[] }>;

const SPECIFIER = /(?:^|[\s;])(?:import|export)\s[^'"`;]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|createRequire\([^)]*\)\(\s*['"]([^'"]+)['"]\s*\)/g;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith('.ts') && !name.endsWith('.d.ts') ? [path] : [];
  });
}

/** The import graph of `src` (keys and local edges relative to it, `.ts`). */
export function readGraph(src: string): Graph {
  const graph: Graph = new Map();
  for (const file of sourceFiles(src)) {
    const text = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\/|^\s*\/\/.*$/gm, '');
    const local: string[] = [];
    const dynamic: string[] = [];
    const external: string[] = [];
    for (const match of text.matchAll(SPECIFIER)) {
      const specifier = match[1] ?? match[2] ?? match[3]!;
      const target = relative(src, resolve(dirname(file), specifier.replace(/\.js$/, '.ts')));
      if (specifier.startsWith('.')) local.push(target);
      if (specifier.startsWith('.') && match[2] !== undefined) dynamic.push(target);
      if (!specifier.startsWith('.') && !specifier.startsWith('node:')) external.push(specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!);
    }
    graph.set(relative(src, file), { local, external, dynamic });
  }
  return graph;
}

/** The program folder of a file of src/ ('.' for the top level). */
export const folderOf = (file: string): string => (file.includes('/') ? file.slice(0, file.indexOf('/')) : '.');

/**
 * Files and packages reachable from `entry`, with the path that reaches each. With `staticOnly`,
 * dynamic import()s are not followed (the dispatcher loads one command, not all of them).
 */
export function reach(graph: Graph, entry: string, staticOnly = false): Map<string, string[]> {
  const paths = new Map<string, string[]>([[entry, [entry]]]);
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.shift()!;
    const node = graph.get(file);
    if (!node) continue;
    for (const name of node.external) if (!paths.has(name)) paths.set(name, [...paths.get(file)!, name]);
    for (const target of node.local) {
      if (paths.has(target) || (staticOnly && node.dynamic?.includes(target))) continue;
      paths.set(target, [...paths.get(file)!, target]);
      queue.push(target);
    }
  }
  return paths;
}

/** Every import cycle, as the files around it. */
export function cycles(graph: Graph): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string): void => {
    state.set(file, 'open');
    stack.push(file);
    for (const target of graph.get(file)?.local ?? []) {
      if (state.get(target) === 'open') found.push([...stack.slice(stack.indexOf(target)), target]);
      else if (!state.has(target)) visit(target);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file);
  return found;
}
