// The docs hold to the code: the README's app is examples/quickstart.js and runs; the settings
// table of docs/configuration.md is the one src/contract/settings.ts generates; links resolve.
import t from 'tap';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { get } from 'node:http';
import { dirname, join } from 'node:path';
import { SETTINGS } from '../src/contract/settings.js';
// @ts-expect-error a plain JS script, without types
import { settingsTable, withTable } from '../scripts/docs-tables.mjs';
import { ROOT, runDeputy, spawnChild, tempIpcDir } from './helpers.js';

const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const quickstart = readFileSync(join(ROOT, 'examples', 'quickstart.js'), 'utf8');

t.test('README is short and shows examples/quickstart.js as it is', async (t) => {
  t.ok(readme.split('\n').length <= 250, `README.md has ${readme.split('\n').length} lines (at most 250)`);
  const block = /```js\n([\s\S]*?)```/.exec(readme)?.[1];
  t.equal(block, quickstart, 'the first js block of the README is examples/quickstart.js');
});

t.test("the README's app runs: probes answer, terminate drains it and it exits 0", async (t) => {
  const dir = tempIpcDir(t);
  const app = spawnChild(t, process.execPath, [join(ROOT, 'examples', 'quickstart.js')], {
    DEPUTY_IPC_DIR: dir,
    DEPUTY_HEALTH_CHECK_PORT: '0',
    DEPUTY_HEALTH_CHECK_HOST: '127.0.0.1',
    PORT: '0',
    DEPUTY_DRAIN_DELAY: '0',
  });
  const listening = await app.waitForLog('health server listening', 20_000);
  await app.waitForLog((record) => record.msg === 'graceful terminator listening', 20_000);
  const status = await new Promise<number>((resolve, reject) => {
    get({ host: '127.0.0.1', port: listening.port as number, path: '/readyz' }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).on('error', reject);
  });
  t.equal(status, 200, '/readyz answers 200 once readied');
  const terminated = await runDeputy(['terminate', '--timeout', '20s'], { DEPUTY_IPC_DIR: dir });
  t.equal(terminated.status, 0, terminated.stderr);
  t.equal((await app.exited).status, 0);
  t.ok(app.logs.some((record) => record.msg === 'drained; closing the database'), 'the shutdown handler ran');
});

t.test('docs/configuration.md lists every setting as src/contract/settings.ts defines it', async (t) => {
  const page = readFileSync(join(ROOT, 'docs', 'configuration.md'), 'utf8');
  t.equal(page, withTable(page, settingsTable(SETTINGS)), 'up to date (run npm run docs:tables)');
  for (const setting of Object.values(SETTINGS)) t.match(page, `\`${setting.env}\``);
});

t.test('links between README.md and docs/ resolve', async (t) => {
  const pages = ['README.md', ...readdirSync(join(ROOT, 'docs')).map((name) => join('docs', name))];
  for (const page of pages) {
    const text = readFileSync(join(ROOT, page), 'utf8');
    for (const match of text.matchAll(/\]\(([^)#\s]+\.md)(#[^)]*)?\)/g)) {
      if (/^[a-z]+:/.test(match[1]!)) continue;
      t.ok(existsSync(join(ROOT, dirname(page), match[1]!)), `${page} → ${match[1]}`);
    }
  }
});
