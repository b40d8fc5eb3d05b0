#!/usr/bin/env node
// `deputy supervise` is a container's init: well-formed arguments skip commander to start fast
// (src/supervise-args.ts); everything else goes through the full CLI.
if (process.argv[2] === 'supervise') {
  const { parseSuperviseArgs } = await import('../dist/supervise-args.js');
  const options = parseSuperviseArgs(process.argv.slice(3));
  if (options) {
    const { supervise } = await import('../dist/supervisor.js');
    process.exit(await supervise(options));
  }
}
const { main } = await import('../dist/cli.js');
process.exitCode = await main();
