import type { KubeConfig, V1Secret } from '@kubernetes/client-node';
import { tenantOfSecretName } from '@tenantry/tenant-api';
import type { Logger } from '@tenantry/tenant-secrets';
import {
  credentialsFromSecret,
  type SecretWatch,
  sameCredentials,
  type TenantCredentials,
  watchTenantSecrets,
} from '@tenantry/tenant-secrets';
import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import postgres, { type Sql, type TransactionSql } from 'postgres';
import { UnknownTenantError, withTenantContext } from './errors.ts';
import { instrumentedSql } from './instrumented-sql.ts';
import { type CloseReason, type OpenPool, PoolCache } from './pool-cache.ts';

/**
 * Tenant-aware data access (BRIEF section 5): the queries of tenant A run on a pool opened with
 * tenant A's own credentials, so tenant B's rows are out of reach of any query, however wrong its
 * WHERE clause. Credentials come from the Secrets the operator writes, followed through a watch: a new
 * tenant is served without a restart, a changed password replaces the pool, a deleted Secret makes the
 * tenant unknown.
 *
 * Every pool is configured the way drizzle needs it (date and time types come back as strings, which
 * drizzle's columns then map), whether or not drizzle is used: drizzle changes its client's parsers
 * when it wraps it, so without this a raw query's result types would depend on whether some drizzle
 * instance had been created for that pool yet.
 */
export interface TenantDatabasesOptions {
  kc: KubeConfig;
  /** The platform namespace, where the operator writes the tenant Secrets. */
  namespace: string;
  /**
   * Connections per tenant pool. The plan's connection limit is shared by every replica of every
   * service: keep this times the replicas of all services within it.
   */
  maxConnectionsPerTenant: number;
  /** Open pools at most; beyond it the least recently used idle pool is closed. */
  maxTenantsOpen: number;
  /** An idle connection is closed after this long (default 30). */
  idleTimeoutSeconds?: number;
  /** Each query's duration, for `db_query_duration_seconds`. */
  onQuery?(tenant: string, ms: number): void;
  logger?: Logger;
}

export interface TenantPoolStats {
  maxConnections: number;
  /** Queries and transactions running or waiting for a connection. */
  inFlight: number;
}

export interface TenantDatabasesStats {
  /** Tenants with credentials, served whether or not their pool is open. */
  tenants: number;
  openPools: number;
  /** Closed pools still finishing their work. */
  drainingPools: number;
  perTenant: Record<string, TenantPoolStats>;
}

export const DEFAULT_IDLE_TIMEOUT_SECONDS = 30;
/** How long a replaced or evicted pool may take to finish running work before it is cancelled. */
export const DRAIN_TIMEOUT_SECONDS = 30;
const CONNECT_TIMEOUT_SECONDS = 10;
const MAX_CONNECTIONS = 10_000;

function assertPositiveInteger(option: string, value: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new Error(`TenantDatabases option ${option} must be an integer from 1 to ${max}, got ${value}`);
  }
}

function validate(options: TenantDatabasesOptions): void {
  if (!options.namespace) throw new Error('TenantDatabases option namespace must not be empty');
  assertPositiveInteger('maxConnectionsPerTenant', options.maxConnectionsPerTenant, MAX_CONNECTIONS);
  assertPositiveInteger('maxTenantsOpen', options.maxTenantsOpen);
  const idle = options.idleTimeoutSeconds;
  if (idle !== undefined && !(Number.isFinite(idle) && idle > 0)) {
    throw new Error(`TenantDatabases option idleTimeoutSeconds must be a positive number, got ${idle}`);
  }
}

export class TenantDatabases {
  readonly #options: TenantDatabasesOptions;
  readonly #credentials = new Map<string, TenantCredentials>();
  readonly #handles = new Map<string, Sql>();
  readonly #pools: PoolCache;
  #watch: SecretWatch | undefined;
  #synced = false;
  #closed = false;

  private constructor(options: TenantDatabasesOptions) {
    this.#options = options;
    this.#pools = new PoolCache({
      maxPools: options.maxTenantsOpen,
      drainTimeoutSeconds: DRAIN_TIMEOUT_SECONDS,
      open: (credentials) => this.#open(credentials),
      logger: options.logger,
    });
  }

  /** Resolves once the tenant Secrets are listed and watched; retries (and logs) until the API server answers. */
  static async start(options: TenantDatabasesOptions): Promise<TenantDatabases> {
    validate(options);
    const databases = new TenantDatabases(options);
    databases.#watch = await watchTenantSecrets(
      options.kc,
      options.namespace,
      { upsert: (secret) => databases.#upsert(secret), deleted: (secret) => databases.#deleted(secret) },
      options.logger,
    );
    databases.#synced = true;
    options.logger?.info(
      { namespace: options.namespace, tenants: databases.#credentials.size },
      'watching tenant database Secrets',
    );
    return databases;
  }

  has(tenant: string): boolean {
    return this.#credentials.has(tenant);
  }

  /** The tenants with credentials now, served whether or not their pool is open. */
  tenants(): string[] {
    return [...this.#credentials.keys()];
  }

  /**
   * The tenant's handle: a postgres.js `Sql` whose queries run on the tenant's current pool, opened on
   * first use. It stays valid across password rotations and evictions; once the tenant's Secret is
   * gone its queries throw UnknownTenantError. `end()` on it is refused: the pools are owned here.
   * Queries, `unsafe` and `begin` are timed and counted as work in flight (a pool with work in flight
   * is never evicted); `reserve`, `listen` and `subscribe` pass through uncounted.
   */
  sql(tenant: string): Sql {
    if (this.#closed) throw new Error('TenantDatabases is closed');
    if (!this.#credentials.has(tenant)) throw new UnknownTenantError(tenant, this.#options.namespace);
    let handle = this.#handles.get(tenant);
    if (!handle) {
      handle = instrumentedSql(() => this.#target(tenant), {
        onQuery: (ms) => this.#options.onQuery?.(tenant, ms),
        mapError: (error) => withTenantContext(tenant, error),
      });
      this.#handles.set(tenant, handle);
    }
    return handle;
  }

  /** Runs `fn` in a transaction on the tenant's database: committed when it resolves, rolled back when it throws. */
  withTransaction<T>(tenant: string, fn: (tx: TransactionSql) => Promise<T>): Promise<T> {
    try {
      return this.sql(tenant).begin(fn) as Promise<T>;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** A drizzle instance over the tenant's handle: as long-lived as the handle, and as cheap to create. */
  drizzle(tenant: string): PostgresJsDatabase {
    return drizzle({ client: this.sql(tenant) });
  }

  stats(): TenantDatabasesStats {
    const perTenant: Record<string, TenantPoolStats> = {};
    for (const pool of this.#pools.pools()) {
      perTenant[pool.tenant] = {
        maxConnections: this.#options.maxConnectionsPerTenant,
        inFlight: pool.inFlight,
      };
    }
    return {
      tenants: this.#credentials.size,
      openPools: this.#pools.size,
      drainingPools: this.#pools.draining,
      perTenant,
    };
  }

  /** Stops following the Secrets and closes every pool, letting running work finish. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#watch?.stop();
    await this.#pools.closeAll();
  }

  #target(tenant: string) {
    if (this.#closed) throw new Error('TenantDatabases is closed');
    const credentials = this.#credentials.get(tenant);
    if (!credentials) throw new UnknownTenantError(tenant, this.#options.namespace);
    const pool: OpenPool = this.#pools.acquire(tenant, credentials);
    return { sql: pool.sql, start: () => this.#pools.track(pool) };
  }

  #open(credentials: TenantCredentials): Sql {
    const sql = postgres({
      host: credentials.host,
      port: credentials.port,
      database: credentials.database,
      username: credentials.username,
      password: credentials.password,
      max: this.#options.maxConnectionsPerTenant,
      idle_timeout: this.#options.idleTimeoutSeconds ?? DEFAULT_IDLE_TIMEOUT_SECONDS,
      connect_timeout: CONNECT_TIMEOUT_SECONDS,
      onnotice: () => {},
    });
    drizzle({ client: sql }); // configures the pool's parsers (see the class comment); the instance is dropped
    return sql;
  }

  #upsert(secret: V1Secret): void {
    const tenant = tenantOfSecretName(secret.metadata?.name);
    if (!tenant) return;
    let credentials: TenantCredentials;
    try {
      credentials = credentialsFromSecret(tenant, secret);
    } catch (error) {
      this.#options.logger?.warn(
        { tenant, reason: error instanceof Error ? error.message : String(error) },
        'ignoring an invalid tenant database Secret; the tenant is not served until it is repaired',
      );
      this.#forget(tenant, 'Secret invalid');
      return;
    }
    const isNew = !this.#credentials.has(tenant);
    this.#credentials.set(tenant, credentials);
    if (isNew && this.#synced) this.#options.logger?.info({ tenant }, 'tenant database Secret added');
    const pool = this.#pools.get(tenant);
    if (pool && !sameCredentials(pool.credentials, credentials)) {
      this.#options.logger?.info({ tenant }, 'tenant database credentials changed; draining the old pool');
      this.#pools.close(tenant, 'credentials changed');
    }
  }

  #deleted(secret: V1Secret): void {
    const tenant = tenantOfSecretName(secret.metadata?.name);
    if (!tenant || !this.#credentials.has(tenant)) return;
    this.#options.logger?.info({ tenant }, 'tenant database Secret deleted; closing its pool');
    this.#forget(tenant, 'Secret deleted');
  }

  #forget(tenant: string, reason: CloseReason): void {
    this.#credentials.delete(tenant);
    this.#handles.delete(tenant);
    this.#pools.close(tenant, reason);
  }
}
