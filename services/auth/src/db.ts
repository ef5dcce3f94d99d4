import type { TenantDatabases } from '@tenantry/tenant-db';
import type { PgDatabase } from 'drizzle-orm/pg-core';
import { PgDialect } from 'drizzle-orm/pg-core';
import {
  PostgresJsDatabase,
  type PostgresJsQueryResultHKT,
  PostgresJsSession,
} from 'drizzle-orm/postgres-js';
import type { Sql, TransactionSql } from 'postgres';

/** A tenant database (`databases.drizzle(tenant)`), or a transaction on one. */
export type Db = PgDatabase<PostgresJsQueryResultHKT>;

/**
 * A drizzle transaction whose `$client` is the postgres.js transaction it runs in: the outbox
 * (`appendToOutbox`, auth-events.ts) writes through that, so an event commits with its state change.
 */
export type Tx = PostgresJsDatabase & { $client: TransactionSql };

const dialect = new PgDialect();

/**
 * Runs `fn` in a transaction on the tenant's database (`databases.withTransaction`: committed when it
 * resolves, rolled back when it throws), with drizzle over the postgres.js transaction. drizzle() itself
 * cannot wrap a transaction (it sets its client's parsers, which a transaction has no `options` for);
 * tenant-db already configured the pool's parsers for drizzle, so the session is built directly.
 */
export function transaction<T>(
  databases: TenantDatabases,
  tenant: string,
  fn: (tx: Tx) => Promise<T>,
): Promise<T> {
  return databases.withTransaction(tenant, (sqlTx) => fn(overTransaction(sqlTx)));
}

function overTransaction(sqlTx: TransactionSql): Tx {
  // A TransactionSql runs queries (`unsafe`) as a Sql does, which is all the session calls on it.
  const session = new PostgresJsSession(sqlTx as unknown as Sql, dialect, undefined);
  return Object.assign(new PostgresJsDatabase(dialect, session, undefined), { $client: sqlTx });
}
