import { Gauge, type Registry } from 'prom-client';

/** What TenantDatabases.stats() reports, as far as the metrics need it. */
export interface PoolStats {
  openPools: number;
  /** Closed (replaced or evicted) pools still finishing their work. */
  drainingPools: number;
  /** Open pools only. */
  perTenant: Record<string, { maxConnections: number; inFlight: number }>;
}

/**
 * Gauges of the tenant connection pools, read from `stats` at each scrape (prom-client `collect`),
 * so they can never go stale between scrapes. `stats` is called once per gauge per scrape: it must be
 * cheap, as TenantDatabases.stats() is.
 *
 * The per-tenant series exist for open pools only (at most the service's maxTenantsOpen), and a
 * tenant whose pool closed leaves them at the next scrape. `db_pool_usage_ratio` is what the "database
 * connection pool exhausted" alert watches: in-flight work includes queries waiting for a connection,
 * so 1 means every connection is busy and above 1 means work is queueing.
 */
export function registerPoolMetrics(registry: Registry, stats: () => PoolStats): void {
  const registers = [registry];
  new Gauge({
    name: 'db_pool_open_pools',
    help: 'Tenant database connection pools open',
    registers,
    collect() {
      this.set(stats().openPools);
    },
  });
  new Gauge({
    name: 'db_pool_draining_pools',
    help: 'Closed tenant database pools still finishing their work',
    registers,
    collect() {
      this.set(stats().drainingPools);
    },
  });
  perTenantGauge(registers, stats, {
    name: 'db_pool_in_flight',
    help: 'Queries and transactions running or waiting for a connection, by tenant',
    value: (pool) => pool.inFlight,
  });
  perTenantGauge(registers, stats, {
    name: 'db_pool_max_connections',
    help: 'Connections the tenant pool may open, by tenant',
    value: (pool) => pool.maxConnections,
  });
  perTenantGauge(registers, stats, {
    name: 'db_pool_usage_ratio',
    help: 'In-flight work per pool connection, by tenant (1: every connection busy; above: queueing)',
    value: (pool) => (pool.maxConnections > 0 ? pool.inFlight / pool.maxConnections : undefined),
  });
}

type TenantPool = PoolStats['perTenant'][string];

function perTenantGauge(
  registers: Registry[],
  stats: () => PoolStats,
  gauge: { name: string; help: string; value: (pool: TenantPool) => number | undefined },
): void {
  new Gauge({
    name: gauge.name,
    help: gauge.help,
    labelNames: ['tenant'],
    registers,
    collect() {
      // From scratch each time: a tenant whose pool closed since the last scrape has no series.
      this.reset();
      for (const [tenant, pool] of Object.entries(stats().perTenant)) {
        const value = gauge.value(pool);
        if (value !== undefined) this.set({ tenant }, value);
      }
    },
  });
}
