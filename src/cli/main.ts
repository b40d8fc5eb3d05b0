/**
 * `deputy <command>`: loads only the command it runs — `supervise`, `terminate` and `probe` are
 * on start-up budgets (every container start, preStop hook and exec probe) — and hands it the
 * rest of the command line (src/cli/command.ts parses it against the command's spec).
 */
import { readFileSync } from 'node:fs';
import { EXIT_USAGE, environmentHelp, runCommand, type CommandModule } from './command.js';

/**
 * The commands on a start-up budget. bin/deputy.js runs each from a one-file bundle,
 * dist/bundle/<command>.cjs (scripts/bundle.mjs), and comes here only for the others.
 */
export const BUNDLED_COMMANDS = ['supervise', 'terminate', 'probe'] as const;

/** Every command, in the order `deputy --help` lists them. */
const COMMANDS: Readonly<Record<string, () => Promise<CommandModule>>> = {
  supervise: async () => (await import('./supervise.js')).command,
  terminate: async () => (await import('./terminate.js')).command,
  probe: async () => (await import('./probe.js')).command,
  lint: async () => (await import('./lint/command.js')).command,
  'install-shim': async () => (await import('./install-shim-command.js')).command,
};

function version(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

async function help(): Promise<string> {
  const rows: string[] = [];
  for (const [name, load] of Object.entries(COMMANDS)) rows.push(`  ${name.padEnd(14)}${(await load()).spec.summary}`);
  return `Usage: deputy [options] <command> [options] [args...]

Graceful termination for Node.js services in containers and Kubernetes.

Commands:
${rows.join('\n')}

Options:
  -V, --version   print the version
  -h, --help      show this help ("deputy <command> --help" for a command's)

${environmentHelp(['ipcDir', 'logLevel', 'healthCheckPort'])}

Durations are 500ms, 5s, 1m or a bare number of milliseconds. Docs: docs/ in the package.
`;
}

/** Runs `deputy <argv…>`; resolves with the exit status instead of exiting, so callers decide. */
export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    // Asked for: stdout and 0. No command at all is a usage error: stderr and 2.
    (first === undefined ? process.stderr : process.stdout).write(await help());
    return first === undefined ? EXIT_USAGE : 0;
  }
  if (first === '--version' || first === '-V') {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  const load = Object.hasOwn(COMMANDS, first) ? COMMANDS[first] : undefined;
  if (load === undefined) {
    const what = first.startsWith('-') ? `unknown option '${first}'` : `unknown command '${first}'`;
    process.stderr.write(`deputy: ${what}; commands: ${Object.keys(COMMANDS).join(', ')} (run deputy --help for usage)\n`);
    return EXIT_USAGE;
  }
  return runCommand(await load(), rest);
}

