// A small L4 balancer that imitates kube-proxy for the benchmark:
// - new TCP connections go round-robin to the endpoints currently in rotation; established
//   connections stay pinned to their backend (bytes are piped both ways, half-close and resets
//   passed on);
// - readiness is polled like a kubelet (period, failure threshold, 1 s timeout); an endpoint is
//   added after its first passing probe, and removed after `failureThreshold` failures, each
//   change applied only after a propagation lag drawn from [lagMinMs, lagMaxMs];
// - a connection that finds no endpoint, or whose backend refuses it, is reset — what a client
//   sees when kube-proxy's rules still point at a pod that has stopped listening.
import http from 'node:http';
import net from 'node:net';

export class Balancer {
  #endpoints = new Map();
  #rotation = [];
  #next = 0;
  #server;
  #timers = new Set();

  constructor({ periodMs = 500, failureThreshold = 2, lagMinMs = 0, lagMaxMs = 1000 } = {}) {
    this.periodMs = periodMs;
    this.failureThreshold = failureThreshold;
    this.lagMinMs = lagMinMs;
    this.lagMaxMs = lagMaxMs;
    this.connections = 0;
    this.resets = 0;
    this.#server = net.createServer({ allowHalfOpen: true }, (client) => this.#route(client));
  }

  listen() {
    return new Promise((resolve) => this.#server.listen(0, '127.0.0.1', () => resolve(this.#server.address().port)));
  }

  #later(fn, ms) {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      fn();
    }, ms);
    this.#timers.add(timer);
  }

  #lag() {
    return this.lagMinMs + Math.random() * (this.lagMaxMs - this.lagMinMs);
  }

  /** Starts probing an endpoint; it enters the rotation after its first passing probe plus a lag. */
  add(id, { port, probePort, probePath }) {
    const endpoint = { id, port, probePort, probePath, inRotation: false, pending: false, failures: 0, gone: false };
    this.#endpoints.set(id, endpoint);
    const probe = () => {
      if (endpoint.gone) return;
      const req = http.get({ host: '127.0.0.1', port: probePort, path: probePath, agent: false, timeout: 1000 }, (res) => {
        res.resume();
        this.#probed(endpoint, res.statusCode >= 200 && res.statusCode < 400);
      });
      req.on('timeout', () => req.destroy(new Error('probe timeout')));
      req.on('error', () => this.#probed(endpoint, false));
      this.#later(probe, this.periodMs);
    };
    probe();
  }

  #probed(endpoint, ok) {
    if (endpoint.gone || endpoint.pending) return;
    if (ok) {
      endpoint.failures = 0;
      if (!endpoint.inRotation) this.#change(endpoint, true);
    } else if (++endpoint.failures >= this.failureThreshold && endpoint.inRotation) {
      this.#change(endpoint, false);
    }
  }

  #change(endpoint, inRotation) {
    endpoint.pending = true;
    endpoint.changeDetectedAt = Date.now();
    this.#later(() => {
      endpoint.pending = false;
      if (endpoint.gone) return;
      endpoint.inRotation = inRotation;
      if (inRotation) endpoint.addedAt = Date.now();
      else endpoint.removedAt = Date.now();
      this.#rotation = [...this.#endpoints.values()].filter((e) => e.inRotation);
    }, this.#lag());
  }

  /** Resolves once the endpoint is in rotation (or after `timeoutMs`). */
  async waitInRotation(id, timeoutMs = 15_000) {
    const until = Date.now() + timeoutMs;
    while (!this.#endpoints.get(id)?.inRotation && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    return Boolean(this.#endpoints.get(id)?.inRotation);
  }

  /** The pod object is gone: stop probing, drop it from the rotation at once. */
  forget(id) {
    const endpoint = this.#endpoints.get(id);
    if (!endpoint) return;
    endpoint.gone = true;
    this.#endpoints.delete(id);
    this.#rotation = this.#rotation.filter((e) => e !== endpoint);
  }

  endpoint(id) {
    return this.#endpoints.get(id);
  }

  #route(client) {
    this.connections += 1;
    client.on('error', () => {});
    if (this.#rotation.length === 0) {
      this.resets += 1;
      client.resetAndDestroy();
      return;
    }
    const endpoint = this.#rotation[this.#next++ % this.#rotation.length];
    const upstream = net.connect({ port: endpoint.port, host: '127.0.0.1', allowHalfOpen: true });
    upstream.setNoDelay(true);
    client.setNoDelay(true);
    client.pipe(upstream);
    upstream.pipe(client);
    upstream.on('error', () => {
      this.resets += 1;
      if (!client.destroyed) client.resetAndDestroy();
    });
    client.on('error', () => {
      if (!upstream.destroyed) upstream.resetAndDestroy();
    });
    client.on('close', (hadError) => hadError && !upstream.destroyed && upstream.resetAndDestroy());
  }

  close() {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    for (const endpoint of this.#endpoints.values()) endpoint.gone = true;
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      // Pinned connections are the clients' business; the harness stops them before closing.
    });
  }
}
