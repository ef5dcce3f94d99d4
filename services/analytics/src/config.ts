import { Type } from '@sinclair/typebox';
import { type Env, loadConfig, url } from '@tenantry/config';
import { tenantServiceEnv } from '@tenantry/service-runtime';

/** A ClickHouse identifier spliced into DDL and FROM clauses, so it is held to a strict shape. */
export const DATABASE_NAME_PATTERN = '^[a-z_][a-z0-9_]{0,62}$';

/** The analytics service's configuration: the only reader of the environment in this program. */
const schema = Type.Object({
  ...tenantServiceEnv(3007),
  /**
   * A ClickHouse server, credentials in the URL (http://user:password@clickhouse:8123); without it the
   * engine runs in-process (chdb). A secret: the chart takes it from an existing Secret.
   */
  CLICKHOUSE_URL: Type.Optional(url()),
  /** The embedded engine's data directory, used when CLICKHOUSE_URL is not set. */
  CLICKHOUSE_PATH: Type.String({ minLength: 1, default: '.data/clickhouse' }),
  /** The database holding the shared tables; created at start when missing. */
  CLICKHOUSE_DATABASE: Type.String({ pattern: DATABASE_NAME_PATTERN, default: 'analytics' }),
  /** An insert happens once this many events are buffered, or after INGEST_LINGER_MS, whichever first. */
  INGEST_BATCH_ROWS: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 10_000 }),
  INGEST_LINGER_MS: Type.Integer({ minimum: 10, maximum: 60_000, default: 500 }),
  /** How often the topics are listed, to pick up tenants created or deleted since. */
  TOPIC_CHECK_INTERVAL_MS: Type.Integer({ minimum: 100, maximum: 3_600_000, default: 10_000 }),
  /** A query running longer is cancelled by ClickHouse and answered 503 ANALYTICS_QUERY_TIMEOUT. */
  QUERY_TIMEOUT_SECONDS: Type.Number({ minimum: 0.1, maximum: 300, default: 10 }),
  /** Rows an endpoint returns at most; the response says when it was truncated. */
  QUERY_MAX_ROWS: Type.Integer({ minimum: 1, maximum: 100_000, default: 10_000 }),
});

export type AnalyticsConfig = ReturnType<typeof loadAnalyticsConfig>;

/** Throws one ConfigError listing every invalid or missing variable. */
export function loadAnalyticsConfig(env: Env = process.env) {
  return loadConfig(schema, env);
}
