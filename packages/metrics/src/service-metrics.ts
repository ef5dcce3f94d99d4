import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { createMetricsRegistry } from './metrics-registry.ts';

type HttpLabel = 'method' | 'route' | 'status_code';

export interface ServiceMetrics {
  /** Holds only this service's metrics, so two apps in one process (tests) never collide. */
  registry: Registry;
  httpRequestsTotal: Counter<HttpLabel>;
  httpRequestDuration: Histogram<HttpLabel>;
  /** For the database layer: `dbQueryDuration.startTimer({ operation: 'select' })`. */
  dbQueryDuration: Histogram<'operation'>;
  activeConnections: Gauge;
}

/** Seconds; from a cached read (about 1 ms) up to the 1 s p99 the alerts treat as too slow, and beyond. */
export const HTTP_DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Seconds; an indexed lookup is well under a millisecond, a slow report query takes seconds. */
export const DB_QUERY_DURATION_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5,
];

/** The metrics every service exposes, under the names of the seed dashboards and alerts. */
export function createServiceMetrics(): ServiceMetrics {
  const registry = createMetricsRegistry();
  const registers = [registry];
  return {
    registry,
    httpRequestsTotal: new Counter({
      name: 'http_requests_total',
      help: 'HTTP requests answered, by method, route pattern and status code',
      labelNames: ['method', 'route', 'status_code'],
      registers,
    }),
    httpRequestDuration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'Time from receiving a request to sending the response, by method, route pattern and status code',
      labelNames: ['method', 'route', 'status_code'],
      buckets: HTTP_DURATION_BUCKETS,
      registers,
    }),
    dbQueryDuration: new Histogram({
      name: 'db_query_duration_seconds',
      help: 'Database query durations, by operation',
      labelNames: ['operation'],
      buckets: DB_QUERY_DURATION_BUCKETS,
      registers,
    }),
    activeConnections: new Gauge({
      name: 'http_active_connections',
      help: 'Open client connections to the HTTP server',
      registers,
    }),
  };
}
