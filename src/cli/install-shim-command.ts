/** `deputy install-shim <dir>`: copies shim/supervise.sh and shim/probe.sh into an image (src/cli/install-shim.ts). */
import { type CommandModule, type CommandSpec, type ParsedCommandLine } from './command.js';

export const spec: CommandSpec = {
  name: 'install-shim',
  summary: 'Install the bash entrypoint shim supervise.sh and the exec probe probe.sh into <dir>.',
  arguments: [{ name: 'dir', description: 'destination directory, e.g. /usr/local/bin (created if missing)', required: true }],
  options: [{ name: 'force', description: 'replace a file at the destination that differs from the shipped script' }],
  settings: [],
  details: `
Dockerfile:
  RUN npx deputy install-shim /usr/local/bin
  ENTRYPOINT ["/usr/local/bin/supervise.sh"]

Exit status: 0 once both scripts are in place (an identical file is left as it is);
1 when a different file is there without --force, or the directory is not writable; 2 for usage errors.`,
};

async function run({ args, options }: ParsedCommandLine): Promise<number> {
  const { installSuperviseShim } = await import('./install-shim.js');
  for (const { path, action } of installSuperviseShim(args.dir as string, { force: options.force === true })) {
    process.stdout.write(`${action} ${path}\n`);
  }
  return 0;
}

export const command: CommandModule = { spec, run };
