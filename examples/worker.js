// A non-HTTP worker (a queue consumer), as a model of work that is not HTTP. It serves no traffic,
// so its Deputy health server listens on 127.0.0.1 only — nothing outside the pod can reach it —
// and the pod spec probes it from inside the container with `deputy probe`:
//
//   readinessProbe: { exec: { command: [deputy, probe, --ready] }, periodSeconds: 10 }
//   livenessProbe:  { exec: { command: [deputy, probe, --live] }, periodSeconds: 10 }
//
// How it stops: `deputy.signal` aborts the moment shutdown begins, which ends the consume loop
// (no new job is taken); every job is `deputy.track`ed, so the shutdown waits for the jobs in hand
// (within the drain deadline, reporting any cut by name), then the handler leaves the broker.
// Liveness catches a wedged consumer (a job running past JOB_TIMEOUT_MS) and a blocked event loop.
//
// The "broker" is any TCP server sending lines `job <id> <ms>`; the worker answers `ack <id>` after
// <ms> milliseconds. Readiness fails with `broker:disconnected` while the connection is down.
// Environment: BROKER_HOST (default 127.0.0.1), BROKER_PORT (required), JOB_TIMEOUT_MS (default
// 60000), plus every DEPUTY_* variable (DEPUTY_HEALTH_CHECK_PORT, default 8081).
import { connect } from 'node:net';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { Deputy, NotReady, createLogger, eventLoopCheck, gracefulTerminator } from 'k8s-deputy';

const log = createLogger('worker');
const brokerHost = process.env.BROKER_HOST ?? '127.0.0.1';
const brokerPort = Number(process.env.BROKER_PORT);
const jobTimeoutMs = Number(process.env.JOB_TIMEOUT_MS ?? 60_000);
const running = new Map(); // job id → start time
let socket;

const deputy = new Deputy({
  // A crash finishes the jobs in hand too, then exits 1 (the container restarts).
  shutdownOnCrash: true,
  // Runs once the jobs in hand are done (or cut at the drain deadline).
  shutdownHandler: () => {
    socket?.end();
    log.info('consumer stopped');
  },
})
  .addReadinessCheck('broker', () => {
    if (!socket || socket.readyState !== 'open') throw new NotReady('disconnected', `no connection to ${brokerHost}:${brokerPort}`);
  })
  .addLivenessCheck('consumer', () => {
    const oldest = Math.min(...running.values());
    if (Date.now() - oldest > jobTimeoutMs) throw new NotReady('stuck', `a job has run for over ${jobTimeoutMs} ms`);
  })
  // Well above any normal pause: only a loop that stays blocked gets the container restarted.
  .addLivenessCheck('event-loop', eventLoopCheck({ maxDelayMs: 5000 }));

/** One job: stands in for "process the message". */
async function work(id, ms) {
  log.info({ id }, 'job started');
  running.set(id, Date.now());
  try {
    await sleep(ms);
  } finally {
    running.delete(id);
  }
}

/** Resolves with a connected socket, or rejects when `signal` aborts first. */
function connectToBroker(signal) {
  return new Promise((resolve, reject) => {
    const attempt = connect({ host: brokerHost, port: brokerPort });
    const onAbort = () => {
      attempt.destroy();
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    attempt.once('connect', () => {
      signal.removeEventListener('abort', onAbort);
      attempt.removeAllListeners('error');
      resolve(attempt);
    });
    attempt.once('error', (error) => {
      signal.removeEventListener('abort', onAbort);
      reject(error);
    });
  });
}

/** Takes jobs until `signal` aborts, reconnecting whenever the broker goes away. */
async function consume(signal) {
  while (!signal.aborted) {
    try {
      socket = await connectToBroker(signal);
    } catch (error) {
      if (signal.aborted) break;
      log.warn({ err: error.message }, 'broker connection error');
      await sleep(500, undefined, { signal }).catch(() => {});
      continue;
    }
    log.info({ broker: `${brokerHost}:${brokerPort}` }, 'broker connected');
    deputy.readied();
    socket.on('error', (error) => log.warn({ err: error.message }, 'broker connection error'));
    const lines = createInterface({ input: socket });
    // Shutdown ends the loop below: no line read after this is taken as a job.
    const stopReading = () => lines.close();
    signal.addEventListener('abort', stopReading, { once: true });
    for await (const line of lines) {
      const [word, id, ms] = line.split(' ');
      if (word !== 'job') continue;
      const broker = socket;
      deputy
        .track(() => work(id, Number(ms) || 0), { name: `job ${id}` })
        .then(() => {
          broker.write(`ack ${id}\n`);
          log.info({ id }, 'job done');
        });
    }
    signal.removeEventListener('abort', stopReading);
    if (signal.aborted) break;
    log.warn('broker disconnected; reconnecting');
    await sleep(500, undefined, { signal }).catch(() => {});
  }
  log.info({ jobsInHand: deputy.trackedInFlight }, 'taking no new jobs');
}

await deputy.serve({ host: '127.0.0.1' });
gracefulTerminator(() => deputy.shutdown());
void consume(deputy.signal);
