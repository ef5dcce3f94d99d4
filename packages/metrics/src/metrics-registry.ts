import { collectDefaultMetrics, Registry } from 'prom-client';

/**
 * A program's own metrics registry, with the standard process_* and nodejs_* metrics (so stock
 * dashboards and the memory alert apply as is). Never prom-client's global registry: creating it
 * twice in one process (tests, two apps) must not collide.
 */
export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}
