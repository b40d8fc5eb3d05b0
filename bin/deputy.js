#!/usr/bin/env node
// The deputy CLI (src/cli/main.ts loads only the command it runs).
const { main } = await import('../dist/cli/main.js');
const status = await main(process.argv.slice(2));
process.exitCode = status;
