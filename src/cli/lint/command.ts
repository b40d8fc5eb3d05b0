/**
 * `deputy lint <path...>`: the command's front-end (src/cli/command.ts parses it and writes its
 * --help). The rule list in the help comes from the rule table (help.ts, no YAML parser); the
 * checks and the parser load only when the command runs (run.ts).
 */
import { type CommandModule, type CommandSpec, type ParsedCommandLine } from '../command.js';
import { lintHelpText } from './help.js';
import { POD_SPEC_PATHS } from './kinds.js';

export const spec: CommandSpec = {
  name: 'lint',
  summary: 'Check Kubernetes manifests for termination timing and wiring mistakes, each with its fix.',
  arguments: [
    {
      name: 'manifest',
      description: `YAML files or directories (every *.yaml and *.yml below them; ${Object.keys(POD_SPEC_PATHS).join(', ')}, List); - reads stdin`,
      required: true,
      variadic: true,
    },
  ],
  options: [
    { name: 'format', value: '<format>', description: 'text for people, json for CI', choices: ['text', 'json'], defaultText: 'text' },
    { name: 'strict', description: 'exit 1 on warnings too' },
    { name: 'all', description: 'check every container, not only those that show k8s-deputy' },
  ],
  settings: [],
  get details() {
    return lintHelpText();
  },
};

async function run({ args, options }: ParsedCommandLine): Promise<number> {
  const { runLint } = await import('./run.js');
  return runLint(args.manifest as string[], { format: options.format === 'json' ? 'json' : 'text', strict: options.strict === true, all: options.all === true });
}

export const command: CommandModule = { spec, run };
