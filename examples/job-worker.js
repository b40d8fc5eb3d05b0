// A non-HTTP worker that takes jobs from a queue (simulated here, so it runs on its own). It has no
// app port, so the Deputy serves the probes on localhost only and the pod spec probes with `exec`
// (`deputy probe --live|--ready`, which runs inside the container) — see k8s/worker.yaml. On
// terminate it stops taking jobs, lets the running job finish and exits 0 (or 1 if the job
// outlives the handler deadline).
// Environment: JOB_MS (how long a simulated job takes, default 500), every DEPUTY_* variable.
import { setTimeout as sleep } from 'node:timers/promises';
import { Deputy, createLogger, gracefulTerminator } from 'k8s-deputy';

const log = createLogger('worker');
const jobMs = Number(process.env.JOB_MS ?? 500);
let stopping = false;
let running = Promise.resolve();

/** Stands in for "take a message from the queue and process it". */
async function work(job) {
  log.info({ job }, 'job started');
  await sleep(jobMs);
  log.info({ job }, 'job finished');
}

async function consume() {
  for (let job = 1; !stopping; job += 1) {
    running = work(job);
    await running;
  }
}

const deputy = new Deputy({
  shutdownHandlerTimeoutMs: 10_000,
  shutdownHandler: async () => {
    stopping = true;
    log.info('taking no new jobs; waiting for the running one');
    await running;
  },
});

await deputy.serve({ host: process.env.DEPUTY_HEALTH_CHECK_HOST || '127.0.0.1' });
gracefulTerminator(() => deputy.shutdown());
deputy.readied();
void consume();
