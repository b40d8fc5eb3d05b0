#!/usr/bin/env node
// Bundles each command on a start-up budget (`deputy supervise`, `terminate`, `probe`: every
// container start, preStop hook and exec probe) into one CommonJS file, dist/bundle/<command>.cjs,
// which bin/deputy.js (itself CommonJS) requires instead of going through src/cli/main.ts. Through
// the ES module loader `deputy supervise` read 17 files, at about 1.5 ms each, and the loader itself
// and the namespaces of the built-ins it imports cost more start-up time and resident memory
// (docs/benchmarks.md has the figures). Runs after tsc (`npm run build`) and bundles its output,
// so there is one compile; packages stay external (unix-dgram and koffi are native, and are
// loaded only when needed). test/bundle.test.ts holds the bundles to the layout's rules and checks
// that bin/deputy.js loads them and nothing else.
import { build } from 'esbuild';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const dist = `${root}dist/`;
const { BUNDLED_COMMANDS } = await import('../dist/cli/main.js');
// A bundle left from a command no longer bundled would still be run by bin/deputy.js, and shipped.
rmSync(`${dist}bundle`, { recursive: true, force: true });

/**
 * node:module is loaded for one function, createRequire (the native addons are found through it),
 * and loading it brings the ES module loader along: ≈ 0.4 ms of every start-up. In a CommonJS file
 * the same function is on `module.constructor` (Module), which the banner keeps before esbuild's
 * wrappers shadow `module`.
 */
const withoutNodeModule = {
  name: 'node-module-from-commonjs',
  setup(build) {
    build.onResolve({ filter: /^node:module$/ }, () => ({ path: 'node:module', namespace: 'deputy-node-module' }));
    build.onLoad({ filter: /.*/, namespace: 'deputy-node-module' }, () => ({ contents: 'export const createRequire = moduleCreateRequire;', loader: 'js' }));
  },
};

for (const name of BUNDLED_COMMANDS) {
  const result = await build({
    stdin: {
      // What bin/deputy.js needs: the command and the runner src/cli/main.ts would hand it to.
      contents: `export { command } from './cli/${name}.js';\nexport { runCommand } from './cli/command.js';\n`,
      resolveDir: dist,
      sourcefile: `<deputy ${name}>`,
    },
    absWorkingDir: root,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20.19',
    packages: 'external',
    outfile: `${dist}bundle/${name}.cjs`,
    // The sources are ES modules: their createRequire(import.meta.url) needs this file's URL. A
    // getter, made on first use: building a file URL costs every start ≈ 0.3 ms, and only the
    // loading of a native addon (after start-up) asks for it.
    define: { 'import.meta.url': 'importMeta.url' },
    // Strict like the ES modules it is made of (esbuild puts "use strict" only inside its wrappers).
    banner: {
      js: `"use strict";\nconst importMeta = { get url() { return require('node:url').pathToFileURL(__filename).href; } };\nconst moduleCreateRequire = module.constructor.createRequire;`,
    },
    plugins: [withoutNodeModule],
    // Strings come out escaped to ASCII; comments esbuild keeps are made ASCII below.
    charset: 'ascii',
    // No keepNames: nothing is minified, so names stay as written; its __name() call per function
    // cost start-up time. Error class names reach the logs: test/bundle.test.ts fails if esbuild
    // renamed a class (it does when two share a name).
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
    write: false,
  });
  // One non-ASCII character (an em dash in a comment esbuild kept) makes Node read the file into a
  // two-byte string: twice the time to read it, and slower to compile. With charset 'ascii' a
  // non-ASCII character can only be in a comment, so it is replaced there.
  const [output] = result.outputFiles;
  mkdirSync(`${dist}bundle`, { recursive: true });
  writeFileSync(output.path, output.text.replace(/[^\x00-\x7f]/g, '?'));
  // The files each bundle was made of, for the test that holds them to the layout's rules.
  const inputs = Object.keys(result.metafile.inputs).filter((input) => input.endsWith('.js')).sort();
  writeFileSync(`${dist}bundle/${name}.inputs.json`, `${JSON.stringify(inputs, null, 2)}\n`);
}
