import { type ClickHouseClient, type ClickHouseClientConfigOptions, createClient } from '@clickhouse/client';

/**
 * ClickHouse for Tenantry code: a real server over HTTP in clusters, or the real engine in-process
 * (chdb) where none runs. Both hand back the same @clickhouse/client, so code above it is identical.
 */
export type ClickHouseTarget =
  | { mode: 'http'; url: string; username?: string; password?: string }
  /** `path` is the engine's data directory; one process may hold it at a time. `:memory:` is ephemeral. */
  | { mode: 'embedded'; path: string };

export interface ClickHouseOptions {
  /** Default database for queries; it must exist. */
  database?: string;
  application?: string;
}

export async function createClickHouse(
  target: ClickHouseTarget,
  options: ClickHouseOptions = {},
): Promise<ClickHouseClient> {
  const common = {
    database: options.database,
    application: options.application ?? 'tenantry',
    // Pinned rather than left to each engine's default (the server quotes 64-bit integers in JSON, the
    // embedded engine does not), so code above the client sees the same types in both modes.
    clickhouse_settings: { output_format_json_quote_64bit_integers: 1 as const },
  };
  if (target.mode === 'http') {
    return createClient({ ...common, url: target.url, username: target.username, password: target.password });
  }
  // Loaded lazily: the native engine is only needed (and only present) where embedded mode is used.
  const { createChdbConnection } = await import('chdb/connection');
  // chdb implements @clickhouse/client-common's Connection; @clickhouse/client bundles its own copy of
  // those declarations, which differ only in settings typings, so the cast bridges two copies of one
  // contract (index.test.ts exercises it against the real engine).
  const connection = createChdbConnection({
    path: target.path,
  }) as unknown as ClickHouseClientConfigOptions['connection'];
  return createClient({ ...common, connection });
}

export type { ClickHouseClient };
