import type { Socket } from 'node:net';
import type { FastifyPluginAsync, FastifySchema } from 'fastify';
import fp from 'fastify-plugin';
import { createServiceMetrics, type ServiceMetrics } from './service-metrics.ts';

declare module 'fastify' {
  interface FastifyInstance {
    metrics: ServiceMetrics;
  }
}

export interface MetricsPluginOptions {
  /** Metrics to record into; a fresh set by default. */
  metrics?: ServiceMetrics;
  /** Where Prometheus scrapes. */
  path?: string;
}

export const DEFAULT_METRICS_PATH = '/metrics';

/**
 * The `route` label of requests no route matched. Labelling them by raw URL would let any client
 * create unbounded series (one per scanned path).
 */
export const UNMATCHED_ROUTE = 'unmatched';

/**
 * `hide` is read by @fastify/swagger where a service uses it: the scrape endpoint is no part of the
 * service's API. Typed by hand because this package does not depend on the swagger plugin.
 */
const HIDDEN_FROM_OPENAPI: FastifySchema & { hide: boolean } = { hide: true };

const metricsPluginImpl: FastifyPluginAsync<MetricsPluginOptions> = async (app, options) => {
  const path = options.path ?? DEFAULT_METRICS_PATH;
  if (!path.startsWith('/')) throw new TypeError(`metrics plugin: path must start with "/", got "${path}"`);
  const metrics = options.metrics ?? createServiceMetrics();
  app.decorate('metrics', metrics);

  // Callback hooks here and in the other per-request plugins: an async one costs a promise and a
  // microtask on every request for nothing it awaits.
  app.addHook('onResponse', (request, reply, done) => {
    const labels = {
      method: request.method,
      route: request.routeOptions.url ?? UNMATCHED_ROUTE,
      status_code: String(reply.statusCode),
    };
    metrics.httpRequestsTotal.inc(labels);
    metrics.httpRequestDuration.observe(labels, reply.elapsedTime / 1000);
    done();
  });

  const onConnection = (socket: Socket) => {
    metrics.activeConnections.inc();
    socket.once('close', () => metrics.activeConnections.dec());
  };
  app.server.on('connection', onConnection);
  app.addHook('onClose', async () => {
    app.server.off('connection', onConnection);
  });

  app.get(path, { schema: HIDDEN_FROM_OPENAPI }, async (_request, reply) => {
    reply.type(metrics.registry.contentType);
    return metrics.registry.metrics();
  });
};

/** Records every response into the HTTP metrics, counts connections and serves `GET /metrics`. */
export const metricsPlugin = fp(metricsPluginImpl, { name: '@tenantry/metrics', fastify: '5.x' });
