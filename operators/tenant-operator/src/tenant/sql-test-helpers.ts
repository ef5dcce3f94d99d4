import { devstack } from '@tenantry/devstack/testing';
import postgres, { type Sql } from 'postgres';
import { onTestFinished } from 'vitest';

/** The devstack PostgreSQL URL, as another user and database (for trying tenant credentials). */
export function urlFor(user: string, password: string, database: string): string {
  const url = new URL(devstack().postgres.url);
  url.username = user;
  url.password = password;
  url.pathname = `/${database}`;
  return url.toString();
}

/** A single-connection client, ended when the test finishes. */
export function connect(url: string): Sql {
  const sql = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 10 });
  onTestFinished(() => sql.end({ timeout: 1 }));
  return sql;
}
