// The quickstart demo: an HTTP app using Deputy + gracefulTerminator is terminated the way a
// Kubernetes preStop hook does it, with `deputy terminate`, while a slow request is in flight.
// Watch the app's logs: readiness flips to 503, new connections are still served during the drain
// delay (told `Connection: close`), the in-flight request finishes, the drain completes, the
// handler runs, the app exits 0 and so does `deputy terminate`.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { prettyLine } from '../dist/log/pretty.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const ipcDir = mkdtempSync(join(tmpdir(), 'deputy-demo-'));
const bold = process.stdout.isTTY ? (text) => `\x1b[1m${text}\x1b[0m` : (text) => text;
const say = (text) => process.stdout.write(`${bold(`demo │ ${text}`)}\n`);
const env = { ...process.env, DEPUTY_IPC_DIR: ipcDir, DEPUTY_HEALTH_CHECK_PORT: '0', DEPUTY_HEALTH_CHECK_HOST: '127.0.0.1', PORT: '0', DEPUTY_DRAIN_DELAY: '1s' };

say(`starting examples/http-app.js (IPC directory ${ipcDir})`);
const app = spawn(process.execPath, [join(here, 'http-app.js')], { env, stdio: ['ignore', 'inherit', 'pipe'] });
const waiters = [];
const seen = [];
let buffered = '';
app.stderr.setEncoding('utf8').on('data', (chunk) => {
  buffered += chunk;
  for (let i; (i = buffered.indexOf('\n')) >= 0; ) {
    const line = buffered.slice(0, i);
    buffered = buffered.slice(i + 1);
    process.stdout.write(`app  │ ${prettyLine(line)}`);
    let record;
    try {
      record = JSON.parse(line);
    } catch {
      continue;
    }
    seen.push(record);
    for (const w of [...waiters]) if (w.match(record)) waiters.splice(waiters.indexOf(w), 1) && w.resolve(record);
  }
});
// Records that came in the same chunk as an awaited one are already seen by the time we wait for them.
const waitForLog = (msg) =>
  new Promise((resolve) => {
    const match = (r) => r.msg === msg;
    const already = seen.find(match);
    if (already) resolve(already);
    else waiters.push({ match, resolve });
  });
const appExited = new Promise((resolve) => app.on('exit', (code, signal) => resolve(code ?? signal)));
const cleanup = () => {
  if (app.exitCode === null) app.kill('SIGKILL');
  rmSync(ipcDir, { recursive: true, force: true });
};
process.on('exit', cleanup);
const guard = setTimeout(() => {
  say('the demo took longer than 30 s; giving up');
  process.exit(1);
}, 30_000);

const health = await waitForLog('health server listening');
const listening = await waitForLog('app listening');
await waitForLog('ready');
const get = async (port, path) => {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return `${res.status} ${await res.text()}`.trim();
};

say(`GET /readyz → ${await get(health.port, '/readyz')}`);
say('GET /slow?ms=1500 (in flight while we terminate)');
const slow = get(listening.port, '/slow?ms=1500');

say(`deputy terminate ${app.pid}  (what the preStop hook runs)`);
const started = Date.now();
const terminate = spawn(process.execPath, [join(here, '..', 'bin', 'deputy.js'), 'terminate', String(app.pid), '--timeout', '20s'], { env, stdio: 'inherit' });
const terminateExited = new Promise((resolve) => terminate.on('exit', (code) => resolve(code)));

await waitForLog('shutdown started; readiness now failing');
say(`GET /readyz → ${await get(health.port, '/readyz')}`);
say(`GET /livez  → ${await get(health.port, '/livez')}`);
const during = await fetch(`http://127.0.0.1:${listening.port}/`);
say(`GET / during the drain delay → ${during.status} ${(await during.text()).trim()} (Connection: ${during.headers.get('connection')})`);
say(`in-flight request → ${await slow}`);
const appStatus = await appExited;
const terminateStatus = await terminateExited;
clearTimeout(guard);
say(`app exited with ${appStatus}; deputy terminate exited with ${terminateStatus} after ${Date.now() - started} ms`);
process.exitCode = appStatus === 0 && terminateStatus === 0 ? 0 : 1;
