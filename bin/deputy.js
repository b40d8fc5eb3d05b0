#!/usr/bin/env node
// `deputy probe` runs as an exec probe every few seconds: it takes a fast path that does not load
// the full CLI (commander). Everything else goes through the full CLI.
if (process.argv[2] === 'probe') {
  const { probeMain } = await import('../dist/probe-cli.js');
  process.exitCode = await probeMain(process.argv.slice(3));
} else {
  const { main } = await import('../dist/cli.js');
  process.exitCode = await main();
}
