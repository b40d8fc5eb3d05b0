// The start-up bundles (scripts/bundle.mjs): `deputy supervise`, `terminate` and `probe` run from
// one CommonJS file each. These tests hold the shipped files to the layout's rules (made of what
// the command reaches in src/, never the SDK; requiring only Node's built-ins), and check that
// bin/deputy.js runs them: two files loaded, no ES module loader, the same answers as main().
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BUNDLED_COMMANDS } from '../src/cli/main.js';
import { ROOT, DEPUTY_BIN } from './helpers.js';
import { reach, readGraph } from './import-graph.js';

const graph = readGraph(join(ROOT, 'src'));
const MAIN = join(ROOT, 'dist', 'cli', 'main.js');

for (const name of BUNDLED_COMMANDS) {
  const bundle = join(ROOT, 'dist', 'bundle', `${name}.cjs`);

  t.test(`the ${name} bundle is made of what src/cli/${name}.ts reaches, and requires only built-ins`, async (t) => {
    t.ok(existsSync(bundle), `${bundle} exists (npm run build makes it)`);
    const inputs = (JSON.parse(readFileSync(join(ROOT, 'dist', 'bundle', `${name}.inputs.json`), 'utf8')) as string[]).map((input) =>
      input.replace(/^dist\//, '').replace(/\.js$/, '.ts'),
    );
    const allowed = new Set([...reach(graph, `cli/${name}.ts`).keys(), 'cli/command.ts']);
    t.same(inputs.filter((input) => !allowed.has(input)), [], 'nothing the command does not reach');
    t.ok(inputs.includes(`cli/${name}.ts`) && inputs.includes('cli/command.ts'), 'the command and its runner');
    t.same(inputs.filter((input) => input.startsWith('sdk/')), [], 'no SDK');

    const text = readFileSync(bundle, 'utf8');
    const required = [...text.matchAll(/\brequire\("([^"]+)"\)|\bimport\("([^"]+)"\)/g)].map((match) => match[1] ?? match[2]!);
    t.same(required.filter((specifier) => !specifier.startsWith('node:')), [], 'require() and import() of node: built-ins only');
    // esbuild writes createRequire(...)("x") as (0, import_node_module.createRequire)(importMeta.url)("x").
    const packages = [...text.matchAll(/createRequire\)?\([^)]*\)\("([^"]+)"\)|\.resolve\("([^"/]+)\//g)].map((match) => match[1] ?? match[2]!);
    t.same(packages.filter((specifier) => !['koffi', 'unix-dgram'].includes(specifier)), [], 'packages: the native addons only, loaded when needed');
    if (name === 'supervise') t.ok(packages.includes('koffi') && packages.includes('unix-dgram'), `the check sees both addons in the supervise bundle (${packages.join(', ')})`);
    // Node reads a file with one non-ASCII character into a two-byte string: slower to read and compile.
    t.notMatch(text, /[^\x00-\x7f]/, 'ASCII only');
    // Error class names reach the logs (the `type` of a serialised error). The bundle is built
    // without esbuild's keepNames (its __name() calls cost start-up time), so a class esbuild
    // renamed (two classes of one name: Foo and Foo2) would log the wrong type.
    // (Inside its lazy module wrappers esbuild writes `Name = class extends …`: named by the assignment.)
    const classes = [...text.matchAll(/\bclass (?!extends\b)([A-Za-z_$][\w$]*)|([A-Za-z_$][\w$]*) = class\b/g)].map((match) => match[1] ?? match[2]!);
    t.ok(classes.includes('UsageError'), `the check sees the error classes (${classes.join(', ')})`);
    const sourceClasses = new Set(inputs.flatMap((input) => [...readFileSync(join(ROOT, 'src', input), 'utf8').matchAll(/\bclass ([A-Za-z_$][\w$]*)/g)].map((match) => match[1]!)));
    t.same(classes.filter((name) => !sourceClasses.has(name)), [], 'every class keeps its source name');
  });

  t.test(`bin/deputy.js runs ${name} from its bundle, without the ES module loader`, async (t) => {
    const dir = t.testdir();
    // Preloaded (CommonJS, so it loads no ES module machinery itself): what the process loaded.
    const probe = join(dir, 'loaded.cjs');
    writeFileSync(
      probe,
      `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(join(dir, 'loaded.json'))}, JSON.stringify({ files: Object.keys(require.cache), builtins: process.moduleLoadList })));\n`,
    );
    // `env -u`: the test runner puts its coverage hooks back into a child's NODE_OPTIONS.
    const result = spawnSync('env', ['-u', 'NODE_OPTIONS', process.execPath, '--require', probe, DEPUTY_BIN, name, '--help'], { encoding: 'utf8', timeout: 30_000 });
    t.equal(result.status, 0, result.stderr);
    const loaded = JSON.parse(readFileSync(join(dir, 'loaded.json'), 'utf8')) as { files: string[]; builtins: string[] };
    t.same(loaded.files.filter((file) => file !== probe), [DEPUTY_BIN, bundle], 'bin/deputy.js and the bundle, nothing else');
    t.notOk(loaded.builtins.includes('NativeModule internal/modules/esm/loader'), 'no ES module loader');

    if (name === 'supervise') {
      // A whole supervision, not only the help: node:module (createRequire) brings the ES module loader back.
      const run = spawnSync('env', ['-u', 'NODE_OPTIONS', `DEPUTY_IPC_DIR=${dir}`, process.execPath, '--require', probe, DEPUTY_BIN, name, '--', 'true'], { encoding: 'utf8', timeout: 30_000 });
      t.equal(run.status, 0, run.stderr);
      const { builtins } = JSON.parse(readFileSync(join(dir, 'loaded.json'), 'utf8')) as { builtins: string[] };
      t.same(builtins.filter((builtin) => /^NativeModule (module|internal\/modules\/esm\/loader)$/.test(builtin)), [], 'a supervision loads neither node:module nor the ES module loader');
    }

    // The same help as the full CLI (dist/cli/main.js) gives.
    const full = spawnSync(process.execPath, ['--input-type=module', '-e', `const { main } = await import(${JSON.stringify(pathToFileURL(MAIN).href)}); process.exitCode = await main(${JSON.stringify([name, '--help'])});`], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    t.equal(full.status, 0, full.stderr);
    t.equal(result.stdout, full.stdout, 'same help as main()');
  });
}

t.test('bin/deputy.js bundles the commands src/cli/main.ts says it does', async (t) => {
  const bin = readFileSync(DEPUTY_BIN, 'utf8');
  const list = /const BUNDLED = \[([^\]]*)\]/.exec(bin)?.[1];
  t.ok(list, 'bin/deputy.js has its BUNDLED list');
  t.same([...(list ?? '').matchAll(/'([a-z-]+)'/g)].map((match) => match[1]), [...BUNDLED_COMMANDS]);
});

t.test('without a bundle, bin/deputy.js falls back to the full CLI', async (t) => {
  // lint has no bundle; neither has a command that does not exist.
  const lint = spawnSync(process.execPath, [DEPUTY_BIN, 'lint', '--help'], { encoding: 'utf8', timeout: 30_000 });
  t.equal(lint.status, 0, lint.stderr);
  t.match(lint.stdout, /Usage: deputy lint/);
  const unknown = spawnSync(process.execPath, [DEPUTY_BIN, 'nonsense'], { encoding: 'utf8', timeout: 30_000 });
  t.equal(unknown.status, 2);
  t.match(unknown.stderr, /unknown command 'nonsense'/);
  const traversal = spawnSync(process.execPath, [DEPUTY_BIN, '../cli/main'], { encoding: 'utf8', timeout: 30_000 });
  t.equal(traversal.status, 2, 'a path is not a command');
});
