/** `deputy lint <manifest...>`: the command's front-end (src/cli/lint/index.ts checks the manifests). */
import { UsageError } from '../../contract/errors.js';
import { KUBERNETES_DEFAULTS, KUBERNETES_DRAIN_DELAY_MS, SETTINGS } from '../../contract/settings.js';
import { formatMs } from './index.js';
import { EXIT_FAILURE, EXIT_USAGE, type CommandModule, type CommandSpec, type ParsedCommandLine } from '../command.js';
import { LINT_RULES } from './index.js';

const ruleList = (): string => {
  const width = Math.max(...Object.keys(LINT_RULES).map((id) => id.length)) + 2;
  return Object.entries(LINT_RULES)
    .map(([id, rule]) => `  ${id.padEnd(width)}${rule.severity === 'warning' ? '(warning) ' : ''}${rule.summary}`)
    .join('\n');
};

export const spec: CommandSpec = {
  name: 'lint',
  summary: 'Check Kubernetes manifests for termination timing and wiring mistakes, each with its fix.',
  arguments: [
    {
      name: 'manifest',
      description: 'YAML files, multi-document (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, Pod, Rollout, List); - reads stdin',
      required: true,
      variadic: true,
    },
  ],
  options: [
    { name: 'format', value: '<format>', description: 'text for people, json for CI', choices: ['text', 'json'], defaultText: 'text' },
    { name: 'strict', description: 'exit 1 on warnings too' },
  ],
  settings: [],
  get details() {
    return `
Rules (error unless marked warning):
${ruleList()}

Defaults assumed when unset: terminationGracePeriodSeconds ${KUBERNETES_DEFAULTS.terminationGracePeriodSeconds},
${SETTINGS.drainDelay.env} ${formatMs(KUBERNETES_DRAIN_DELAY_MS)}, ${SETTINGS.gracePeriod.env} ${SETTINGS.gracePeriod.defaultText}, ${SETTINGS.timeout.env} ${SETTINGS.timeout.defaultText},
probe periodSeconds ${KUBERNETES_DEFAULTS.probe.periodSeconds} and failureThreshold ${KUBERNETES_DEFAULTS.probe.failureThreshold}.

Exit status: 0 no errors (warnings allowed unless --strict); 1 errors found;
2 usage errors or unreadable input (not YAML, not Kubernetes, no workload; one line on stderr).`;
  },
};

async function readStdin(): Promise<string> {
  let text = '';
  for await (const chunk of process.stdin) text += String(chunk);
  return text;
}

async function run({ args, options }: ParsedCommandLine): Promise<number> {
  const { lintManifest, countFindings, formatText } = await import('./index.js');
  const { readFile } = await import('node:fs/promises');
  const results = [];
  try {
    for (const file of args.manifest as string[]) {
      let text: string;
      try {
        text = file === '-' ? await readStdin() : await readFile(file, 'utf8');
      } catch (error) {
        throw new UsageError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
      }
      results.push(lintManifest(text, file));
    }
  } catch (error) {
    // Unreadable input is the caller's to fix, like a usage error, but --help does not help it.
    process.stderr.write(`deputy lint: ${(error as Error).message}\n`);
    return EXIT_USAGE;
  }
  const counts = countFindings(results);
  process.stdout.write(options.format === 'json' ? `${JSON.stringify({ results, summary: counts }, null, 2)}\n` : formatText(results));
  return counts.errors > 0 || (options.strict === true && counts.warnings > 0) ? EXIT_FAILURE : 0;
}

export const command: CommandModule = { spec, run };
