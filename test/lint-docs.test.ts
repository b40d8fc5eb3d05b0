// docs/lint.md and `deputy lint --help` against the rule table and the product's defaults: the
// page's rule table is generated from the table (DEPUTY_UPDATE_DOCS=1 rewrites it), the help
// lists every rule, and the JSON format the page describes is the one the command prints.
import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES, ROOT, runDeputy } from './helpers.js';
import { RULES, countFindings, lintManifest } from '../src/cli/lint/index.js';
import { assumedDefaults, lintHelpText, ruleTableMarkdown } from '../src/cli/lint/help.js';

const PAGE = join(ROOT, 'docs', 'lint.md');
const BLOCK = /(<!-- rules:begin[^\n]*-->\n)([\s\S]*?)\n(<!-- rules:end -->)/;

t.test('docs/lint.md holds the rule table generated from the rules', async (t) => {
  let page = readFileSync(PAGE, 'utf8');
  if (process.env.DEPUTY_UPDATE_DOCS === '1') {
    page = page.replace(BLOCK, (_all, begin: string, _old: string, end: string) => `${begin}${ruleTableMarkdown()}\n${end}`);
    writeFileSync(PAGE, page);
  }
  const block = BLOCK.exec(page);
  t.ok(block, 'the page has the rules:begin/rules:end markers');
  t.equal(block?.[2], ruleTableMarkdown(), 'the table is up to date (DEPUTY_UPDATE_DOCS=1 npx tap test/lint-docs.test.ts rewrites it)');
  for (const rule of RULES) {
    t.match(block?.[2], `| \`${rule.id}\` | ${rule.severity} |`, `${rule.id} with its severity`);
    t.ok(rule.summary && rule.problem && rule.fix, `${rule.id}: what it checks, when it fails, the fix`);
  }
  t.match(page, assumedDefaults(), 'the defaults are the contract\'s');
});

t.test('the JSON format on the page is the one deputy lint prints', async (t) => {
  const page = readFileSync(PAGE, 'utf8');
  const json = page.slice(page.indexOf('`--format json`'), page.indexOf('## Exit status'));
  for (const key of Object.keys(countFindings([]))) t.match(json, `"${key}"`, `summary.${key}`);
  const result = lintManifest(readFileSync(join(FIXTURES, 'manifests', 'rules', 'sidecar-budget.bad.yaml'), 'utf8'), 'x.yaml');
  for (const key of Object.keys(result)) t.match(json, `"${key}"`, `results[].${key}`);
  for (const key of Object.keys(result.findings[0]!)) t.match(json, `"${key}"`, `findings[].${key}`);
  for (const key of Object.keys(result.containers[0]!)) t.match(json, `"${key}"`, `containers[].${key}`);
});

t.test('deputy lint --help lists every rule from the table, and main.ts keeps no copy', async (t) => {
  const help = await runDeputy(['lint', '--help']);
  t.equal(help.status, 0);
  for (const rule of RULES) t.match(help.stdout, `${rule.id}`, rule.id);
  t.match(help.stdout, '--all');
  t.match(lintHelpText(), assumedDefaults());
  const main = readFileSync(join(ROOT, 'src', 'cli', 'main.ts'), 'utf8');
  t.notMatch(main, /grace-period-budget|DEFAULT_DRAIN_DELAY_MS/, 'no rule list or default copied into main.ts');
  const lintSources = ['container.ts', 'pod.ts', 'rules/timing.ts'].map((file) => readFileSync(join(ROOT, 'src', 'cli', 'lint', file), 'utf8')).join('\n');
  t.notMatch(lintSources, /=\s*(25_?000|30_?000|5000)\b/, 'lint keeps no private copy of the defaults');
});
