#!/usr/bin/env node
// The deputy CLI. A CommonJS file (bin/package.json), so that a command on a start-up budget
// (supervise, terminate, probe) runs from its one-file CommonJS bundle, dist/bundle/<command>.cjs
// (scripts/bundle.mjs), without Node's ES module loader. Any other command, and any command when
// there is no bundle, goes through src/cli/main.ts, which loads only the command it runs.
'use strict';
const { existsSync } = require('node:fs');
const { join } = require('node:path');

/** BUNDLED_COMMANDS of src/cli/main.ts (test/bundle.test.ts holds the two lists together). */
const BUNDLED = ['supervise', 'terminate', 'probe'];

const argv = process.argv.slice(2);
const bundle = BUNDLED.includes(argv[0]) ? join(__dirname, '..', 'dist', 'bundle', `${argv[0]}.cjs`) : undefined;
const status =
  bundle !== undefined && existsSync(bundle)
    ? require(bundle).runCommand(require(bundle).command, argv.slice(1))
    : import('../dist/cli/main.js').then(({ main }) => main(argv));
status.then((code) => {
  process.exitCode = code;
});
