// Every export of src/ is used: named in another file of the package (src/, its tests, benches,
// examples or scripts — tests reach internals on purpose), or a type that another declaration of
// its own file uses (part of a signature), or the public API of src/index.ts and src/fastify.ts.
// tsc's noUnusedLocals does not see exports.
import t from 'tap';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ROOT } from './helpers.js';

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) return [];
    if (statSync(path).isDirectory()) return files(path);
    return /\.(ts|js|mjs|cjs)$/.test(name) ? [path] : [];
  });
}

const strip = (text: string): string => text.replace(/\/\*[\s\S]*?\*\/|^\s*\/\/.*$/gm, '');
const texts = new Map(['src', 'test', 'bench', 'examples', 'scripts', 'bin'].flatMap((dir) => files(join(ROOT, dir))).map((path) => [relative(ROOT, path), strip(readFileSync(path, 'utf8'))]));
const EXPORT = /^export\s+(?:declare\s+)?(?:abstract\s+)?(?:async\s+)?(function\*?|const|let|class|interface|type|enum)\s+([A-Za-z_$][\w$]*)/gm;

/** The unused exports among `sources` (path → text), judged against `all`. */
export function unusedExports(sources: ReadonlyMap<string, string>, all: ReadonlyMap<string, string>): string[] {
  const unused: string[] = [];
  for (const [file, text] of sources) {
    if (file === 'src/index.ts' || file === 'src/fastify.ts') continue;
    for (const match of text.matchAll(EXPORT)) {
      const name = match[2]!;
      const source = `(?<![\\w$.])${name.replace(/\$/g, '\\$')}(?![\\w$])`;
      const word = new RegExp(source); // no 'g': test() would keep lastIndex between files
      const elsewhere = [...all].some(([other, otherText]) => other !== file && word.test(otherText));
      const isType = match[1] === 'interface' || match[1] === 'type';
      const inOwnSignatures = isType && (text.match(new RegExp(source, 'g'))?.length ?? 0) > 1;
      if (!elsewhere && !inOwnSignatures) unused.push(`${file}: ${name}`);
    }
  }
  return unused;
}

t.test('no export of src/ is unused', async (t) => {
  const sources = new Map([...texts].filter(([path]) => path.startsWith('src/')));
  t.ok(sources.size > 20);
  t.same(unusedExports(sources, texts), [], 'drop the export (or the code), or use it');
});

t.test('the check finds an unused export', async (t) => {
  const fake = new Map([
    ['src/a.ts', 'export function used() {}\nexport const forgotten = 1;\nexport interface Shape { x: number }\nexport function make(): Shape { return { x: 1 }; }'],
    ['src/b.ts', "import { used, make } from './a.js';\nused(); make();"],
  ]);
  t.same(unusedExports(fake, fake), ['src/a.ts: forgotten']);
});
