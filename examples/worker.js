// A non-HTTP worker (a queue consumer) with exec probes. It serves no traffic, so its Deputy health
// server listens on 127.0.0.1 only — nothing outside the pod can reach it — and the pod spec probes
// it from inside the container with `deputy probe`:
//
//   readinessProbe: { exec: { command: [deputy, probe, --ready] }, periodSeconds: 10 }
//   livenessProbe:  { exec: { command: [deputy, probe, --live] }, periodSeconds: 10 }
//
// The "broker" is any TCP server sending lines `job <id> <ms>`; the worker answers `ack <id>` after
// <ms> milliseconds. Readiness fails with `broker:disconnected` while the connection is down;
// liveness fails with `consumer:stuck` when a job runs past JOB_TIMEOUT_MS.
// Environment: BROKER_HOST (default 127.0.0.1), BROKER_PORT (required), JOB_TIMEOUT_MS (default
// 60000), plus every DEPUTY_* variable (DEPUTY_HEALTH_CHECK_PORT, default 8081).
import { connect } from 'node:net';
import { createInterface } from 'node:readline';
import { Deputy, NotReady, createLogger, gracefulTerminator } from 'k8s-deputy';

const log = createLogger('worker');
const brokerHost = process.env.BROKER_HOST ?? '127.0.0.1';
const brokerPort = Number(process.env.BROKER_PORT);
const jobTimeoutMs = Number(process.env.JOB_TIMEOUT_MS ?? 60_000);
const running = new Map(); // job id → start time
let socket;
let stopping = false;
let onIdle; // called when the last running job finishes

const deputy = new Deputy({
  shutdownHandlerTimeoutMs: 10_000,
  shutdownHandler: async () => {
    stopping = true;
    // Finish the jobs in hand, then leave the broker.
    if (running.size > 0) await new Promise((resolve) => (onIdle = resolve));
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
  });

function consume() {
  socket = connect({ host: brokerHost, port: brokerPort });
  socket.on('connect', () => {
    log.info({ broker: `${brokerHost}:${brokerPort}` }, 'broker connected');
    deputy.readied();
  });
  const lines = createInterface({ input: socket });
  lines.on('error', () => {}); // the socket's own 'error' listener below reports it
  lines.on('line', (line) => {
    const [word, id, ms] = line.split(' ');
    if (word !== 'job' || stopping) return;
    running.set(id, Date.now());
    setTimeout(() => {
      running.delete(id);
      socket.write(`ack ${id}\n`);
      log.info({ id }, 'job done');
      if (running.size === 0) onIdle?.();
    }, Number(ms) || 0);
  });
  socket.on('error', (error) => log.warn({ err: error.message }, 'broker connection error'));
  socket.on('close', () => {
    if (stopping) return;
    log.warn('broker disconnected; reconnecting');
    setTimeout(consume, 500);
  });
}

await deputy.serve({ host: '127.0.0.1' });
gracefulTerminator(() => deputy.shutdown());
consume();
