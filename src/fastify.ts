/**
 * The Fastify plugin, `k8s-deputy/fastify`: attaches the app's server to a Deputy (so shutdown
 * drains it), answers the probe paths (and `/metrics`, when the Deputy has a registry) on the
 * app's own port, and closes Fastify (its onClose hooks) as a shutdown handler once the server is
 * drained.
 *
 *   import deputyPlugin from 'k8s-deputy/fastify';
 *   await app.register(deputyPlugin, { deputy });
 *
 * fastify is an optional peer dependency: only its types are imported here.
 */
import type { FastifyInstance, FastifyPluginCallback } from 'fastify';
import type { Deputy } from './sdk/deputy.js';
import { handleProbeRequest, PROBE_PATHS } from './sdk/health.js';

/** Options of the Fastify plugin. */
export interface DeputyFastifyOptions {
  /** The Deputy whose shutdown drains this app's server. */
  readonly deputy: Deputy;
  /**
   * Answer the probe paths (`/healthz`, `/readyz`, …) on the app's port too, and `/metrics` when
   * the Deputy has a registry (an app route of its own at `/metrics` then clashes). Default: true.
   */
  readonly probes?: boolean;
  /**
   * Add `fastify.close()` as a shutdown handler, so the app's onClose hooks (databases, queues)
   * run once the server is drained, under the shutdown deadline. Default: true.
   */
  readonly close?: boolean;
}

const plugin: FastifyPluginCallback<DeputyFastifyOptions> = (fastify: FastifyInstance, options, done) => {
  const { deputy, probes = true, close = true } = options;
  if (!deputy || typeof deputy.attach !== 'function') {
    done(new TypeError('k8s-deputy/fastify: register the plugin with { deputy }, a Deputy instance'));
    return;
  }
  // The server exists from the start; attaching now sees every connection, including early ones.
  deputy.attach(fastify.server);
  if (close) deputy.onShutdown(() => fastify.close());
  if (probes) {
    const urls = Object.keys(PROBE_PATHS);
    if (deputy.registry !== undefined) urls.push('/metrics');
    for (const url of urls) {
      // all(): every method Fastify routes (OPTIONS too; more after addHttpMethod), so that they get
      // handleProbeRequest's 405 with Allow as on the health server, not Fastify's 404.
      fastify.all(url, { exposeHeadRoute: false }, (request, reply) => {
        // handleProbeRequest writes the answer itself (405 for methods other than GET/HEAD).
        reply.hijack();
        handleProbeRequest(request.raw, reply.raw, deputy);
      });
    }
  }
  done();
};

// Fastify's plugin metadata (what fastify-plugin sets): not encapsulated, so the routes and the
// attachment apply to the app itself.
Object.assign(plugin, {
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: 'k8s-deputy',
  [Symbol.for('plugin-meta')]: { name: 'k8s-deputy', fastify: '>=4' },
});

export default plugin;
export { plugin as deputyPlugin };
