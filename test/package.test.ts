// The package as a user gets it: `npm pack` from this checkout (which builds on pack), installed
// into a fresh app directory by npm with the install-script approval docs/install.md asks for,
// then used from there: the CLI, the SDK from CommonJS and from ESM, the Fastify plugin, a
// TypeScript consumer under moduleResolution nodenext, and a supervised terminate round trip.
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, spawnChild, tempIpcDir } from './helpers.js';

const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
const work = mkdtempSync(join(tmpdir(), 'deputy-pack-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));
const npm = (args: string[], cwd: string) => spawnSync('npm', args, { cwd, encoding: 'utf8', timeout: 240_000, env: { ...process.env, npm_config_update_notifier: 'false' } });

const packed = npm(['pack', '--json', '--pack-destination', work], ROOT);
const tarball = join(work, (JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as Array<{ filename: string; files: Array<{ path: string }> }>)[0]!.filename);
const files = (JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((file) => file.path);

t.test('npm pack builds and ships what the package exports and runs', async (t) => {
  t.equal(packed.status, 0, packed.status === 0 ? 'npm pack exits 0' : packed.stderr);
  for (const path of ['dist/index.js', 'dist/index.d.ts', 'dist/fastify.js', 'dist/cli/main.js', 'dist/supervisor/supervision.js', 'dist/bundle/supervise.cjs', 'dist/bundle/terminate.cjs', 'dist/bundle/probe.cjs', 'bin/deputy.js', 'bin/package.json', 'shim/supervise.sh', 'shim/probe.sh', 'README.md']) {
    t.ok(files.includes(path), `ships ${path}`);
  }
  t.notOk(files.some((path) => path.startsWith('test/') || path.startsWith('src/') || path.endsWith('.map') || path.endsWith('.inputs.json')), 'no tests, sources, source maps or bundle manifests');
});

const app = join(work, 'app');
execFileSync('mkdir', ['-p', app]);
// A CommonJS app (no "type"), as NestJS builds and most Express apps are; allowScripts is what
// docs/install.md tells users to add so npm builds unix-dgram's addon without asking.
writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true, allowScripts: { 'unix-dgram': true, koffi: false } }));
const installed = npm(['install', tarball, '--no-audit', '--no-fund', '--prefer-offline'], app);

t.test('installs into a fresh app, building the native addon', async (t) => {
  t.equal(installed.status, 0, installed.status === 0 ? 'npm install exits 0' : installed.stderr);
  t.notMatch(installed.stderr, /unix-dgram@[^\n]*install:/, 'no unapproved install script for unix-dgram');
  t.ok(spawnSync('test', ['-f', join(app, 'node_modules', 'unix-dgram', 'build', 'Release', 'unix_dgram.node')]).status === 0, 'unix-dgram built');
  const shown = spawnSync('npx', ['--no-install', 'deputy', '--version'], { cwd: app, encoding: 'utf8' });
  t.equal(shown.stdout.trim(), version, shown.stderr);
});

t.test('the SDK and the Fastify plugin load with require() and with import', async (t) => {
  writeFileSync(
    join(app, 'cjs.js'),
    `const sdk = require('k8s-deputy'); const plugin = require('k8s-deputy/fastify');
console.log(typeof sdk.Deputy, typeof sdk.gracefulTerminator, typeof (plugin.default ?? plugin));`,
  );
  writeFileSync(
    join(app, 'esm.mjs'),
    `import { Deputy, gracefulTerminator } from 'k8s-deputy'; import plugin from 'k8s-deputy/fastify';
console.log(typeof Deputy, typeof gracefulTerminator, typeof plugin);`,
  );
  for (const file of ['cjs.js', 'esm.mjs']) {
    const result = spawnSync(process.execPath, [file], { cwd: app, encoding: 'utf8' });
    t.equal(result.stdout.trim(), 'function function function', `${file}: ${result.stderr}`);
  }
});

t.test('a TypeScript consumer type-checks under moduleResolution nodenext', async (t) => {
  writeFileSync(
    join(app, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', strict: true, noEmit: true, skipLibCheck: true, types: [] }, files: ['consumer.mts', 'consumer.cts'] }),
  );
  writeFileSync(
    join(app, 'consumer.mts'),
    `import { Deputy, type DeputyOptions } from 'k8s-deputy';
const options: DeputyOptions = { gracePeriodMs: 20_000 };
const deputy: Deputy = new Deputy(options);
deputy.readied();
`,
  );
  writeFileSync(join(app, 'consumer.cts'), `import sdk = require('k8s-deputy');\nconst started: boolean = new sdk.Deputy().started;\nvoid started;\n`);
  const checked = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', app], { cwd: app, encoding: 'utf8' });
  t.equal(checked.status, 0, checked.stdout + checked.stderr);
  // The check can fail: a wrong type is reported.
  writeFileSync(join(app, 'consumer.cts'), `import sdk = require('k8s-deputy');\nconst started: string = new sdk.Deputy().started;\nvoid started;\n`);
  const wrong = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', app], { cwd: app, encoding: 'utf8' });
  t.match(wrong.stdout, /consumer\.cts.*TS2322/);
});

t.test('a supervised app terminates gracefully with the installed CLI', async (t) => {
  const dir = tempIpcDir(t);
  writeFileSync(
    join(app, 'server.js'),
    `const { gracefulTerminator } = require('k8s-deputy');
gracefulTerminator(() => { console.log('graceful'); process.exit(0); });
console.error(JSON.stringify({ msg: 'registered' }));
setInterval(() => {}, 1000);`,
  );
  const bin = join(app, 'node_modules', '.bin', 'deputy');
  const supervised = spawnChild(t, bin, ['supervise', '--', process.execPath, join(app, 'server.js')], { DEPUTY_IPC_DIR: dir });
  await supervised.waitForLog('registered', 20_000);
  const terminated = spawnSync(bin, ['terminate', '--timeout', '10s'], { cwd: app, encoding: 'utf8', env: { ...process.env, DEPUTY_IPC_DIR: dir } });
  t.equal(terminated.status, 0, terminated.stderr);
  const exited = await supervised.exited;
  t.equal(exited.status, 0);
  t.ok(supervised.stdout.includes('graceful'), 'the handler ran');
});
