import type { Logger, TenantCredentials } from '@tenantry/tenant-secrets';
import type { Sql } from 'postgres';

/**
 * The open tenant pools, at most `maxPools` of them, least recently used first. Opening one beyond
 * the bound closes the least recently used pool that has no work in flight; when every other pool is
 * busy the bound is exceeded until one of them goes idle, so running work is never cut off.
 * A pool being closed leaves the cache at once (the next use opens a fresh one) and drains: postgres.js
 * `end` lets running queries and transactions finish, and cancels them after the drain timeout.
 */
export interface OpenPool {
  readonly tenant: string;
  readonly credentials: TenantCredentials;
  readonly sql: Sql;
  /** Queries and transactions started through this package and not yet settled. */
  inFlight: number;
}

export type CloseReason =
  | 'evicted'
  | 'credentials changed'
  | 'Secret deleted'
  | 'Secret invalid'
  | 'shutdown';

export interface PoolCacheOptions {
  maxPools: number;
  drainTimeoutSeconds: number;
  open(credentials: TenantCredentials): Sql;
  logger?: Logger;
}

export class PoolCache {
  readonly #options: PoolCacheOptions;
  /** Map order is recency order: a use moves the pool to the end. */
  readonly #pools = new Map<string, OpenPool>();
  readonly #draining = new Set<Promise<void>>();

  constructor(options: PoolCacheOptions) {
    this.#options = options;
  }

  get size(): number {
    return this.#pools.size;
  }

  /** Pools closed and still waiting for their work to finish. */
  get draining(): number {
    return this.#draining.size;
  }

  get(tenant: string): OpenPool | undefined {
    return this.#pools.get(tenant);
  }

  pools(): IterableIterator<OpenPool> {
    return this.#pools.values();
  }

  /** The tenant's pool, opened with `credentials` when none is open, marked most recently used. */
  acquire(tenant: string, credentials: TenantCredentials): OpenPool {
    const existing = this.#pools.get(tenant);
    if (existing) {
      this.#pools.delete(tenant);
      this.#pools.set(tenant, existing);
      return existing;
    }
    const pool: OpenPool = {
      tenant,
      credentials,
      sql: this.#options.open(credentials),
      inFlight: 0,
    };
    this.#pools.set(tenant, pool);
    this.#evictIdle(tenant);
    return pool;
  }

  /** Marks work starting on `pool`; the returned function marks its end (calls after the first are ignored). */
  track(pool: OpenPool): () => void {
    pool.inFlight += 1;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      pool.inFlight -= 1;
      if (pool.inFlight === 0 && this.#pools.size > this.#options.maxPools) this.#evictIdle();
    };
  }

  close(tenant: string, reason: CloseReason): void {
    const pool = this.#pools.get(tenant);
    if (!pool) return;
    this.#pools.delete(tenant);
    const drained = pool.sql
      .end({ timeout: this.#options.drainTimeoutSeconds })
      .catch((error: unknown) => {
        this.#options.logger?.warn(
          { tenant, reason, err: error instanceof Error ? error.message : String(error) },
          'closing a tenant database pool failed',
        );
      })
      .finally(() => this.#draining.delete(drained));
    this.#draining.add(drained);
  }

  /** Closes every pool and waits for all of them, those already draining included. */
  async closeAll(): Promise<void> {
    for (const tenant of [...this.#pools.keys()]) this.close(tenant, 'shutdown');
    await Promise.all(this.#draining);
  }

  #evictIdle(keep?: string): void {
    for (const pool of this.#pools.values()) {
      if (this.#pools.size <= this.#options.maxPools) return;
      if (pool.tenant !== keep && pool.inFlight === 0) this.close(pool.tenant, 'evicted');
    }
  }
}
