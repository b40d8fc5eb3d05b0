#!/usr/bin/env node
// Two commands skip commander to start fast: `deputy supervise` is a container's init (well-formed
// arguments, src/supervise-args.ts) and `deputy probe` runs as an exec probe every few seconds
// (src/probe-cli.ts). Everything else goes through the full CLI.
if (process.argv[2] === 'supervise') {
  const { parseSuperviseArgs } = await import('../dist/cli/supervise.js');
  const options = parseSuperviseArgs(process.argv.slice(3));
  if (options) {
    const { supervise } = await import('../dist/supervisor/supervision.js');
    process.exit(await supervise(options));
  }
}
if (process.argv[2] === 'probe') {
  const { probeMain } = await import('../dist/cli/probe.js');
  process.exitCode = await probeMain(process.argv.slice(3));
} else {
  const { main } = await import('../dist/cli/main.js');
  process.exitCode = await main();
}
