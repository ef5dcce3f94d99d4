import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  PACKAGES_WITH_TENANT_TABLES,
  packageMigrationsFolder,
  serviceMigrationsFolder,
  servicesWithTenantDatabase,
} from '@tenantry/service-registry';
import { appRoleName, ownerRoleName } from '@tenantry/tenant-api';
import { drizzle } from 'drizzle-orm/postgres-js';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import postgres, { type Sql } from 'postgres';
import { withContext } from '../errors.ts';
import { releaseSession } from './release-session.ts';

/**
 * The platform's migration mechanism: every registered set of drizzle-kit migrations is applied to a
 * tenant database as the tenant's owner role, so the tables belong to the owner and the default
 * privileges set by database.ts hand the app role DML on them. Each set keeps its own bookkeeping
 * table (`drizzle.__migrations_<set>`), so sets evolve independently.
 */
export interface MigrationSet {
  /** Lowercase identifier: names the bookkeeping table and prefixes the version. */
  name: string;
  /** drizzle-kit output: `meta/_journal.json` and one `.sql` file per journal entry. */
  folder: string;
}

/**
 * The platform's own set, the packages' (events: outbox, processed_events), then each registered
 * service's with tenant tables, all found by the registry's folder convention.
 */
export const migrationSets: MigrationSet[] = [
  { name: 'platform', folder: fileURLToPath(new URL('../../migrations/platform', import.meta.url)) },
  ...PACKAGES_WITH_TENANT_TABLES.map((name) => ({ name, folder: packageMigrationsFolder(name) })),
  ...servicesWithTenantDatabase().map((service) => ({
    name: service.name,
    folder: serviceMigrationsFolder(service),
  })),
];

const MIGRATIONS_SCHEMA = 'drizzle';
const SET_NAME = /^[a-z][a-z0-9_]{0,39}$/;
/**
 * Every applyMigrations on a database holds this advisory lock (`hashtext` of it; advisory locks are
 * scoped to the database), so concurrent runs take turns instead of racing on CREATE SCHEMA and on
 * the bookkeeping rows. database.ts takes it too while granting, for the same catalog rows.
 */
export const MIGRATIONS_LOCK = 'tenantry.migrations';

function migrationsTable(set: MigrationSet): string {
  return `__migrations_${set.name}`;
}

/**
 * The tag of the set's last migration (e.g. `0000_init`): the version a database reaches once the set
 * is applied. Read before connecting, so a broken set fails early.
 */
async function latestTag(set: MigrationSet): Promise<string> {
  return withContext(`reading the journal of migration set ${set.name}`, async () => {
    const journal: unknown = JSON.parse(await readFile(join(set.folder, 'meta', '_journal.json'), 'utf8'));
    const entries = (journal as { entries?: unknown } | null)?.entries;
    const last: unknown = Array.isArray(entries) ? entries.at(-1) : undefined;
    const tag = (last as { tag?: unknown } | undefined)?.tag;
    if (typeof tag !== 'string') throw new Error('the journal lists no migrations');
    return tag;
  });
}

function assertSets(sets: MigrationSet[]): void {
  const seen = new Set<string>();
  for (const set of sets) {
    if (!SET_NAME.test(set.name)) {
      throw new Error(`invalid migration set name "${set.name}": must match ${SET_NAME}`);
    }
    if (seen.has(set.name)) throw new Error(`migration set "${set.name}" is registered twice`);
    seen.add(set.name);
  }
}

/**
 * The app role of the tenant whose owner is `role`. Tenant names have no underscores, so names.ts's
 * mapping (hyphen to underscore) is reversible; the round trip through names.ts proves the match.
 * Refusing any other role matters: tables created as a superuser would not belong to the owner, and
 * the default privileges (granted "for role owner") would not cover them.
 */
function appRoleOfOwner(role: string): string {
  const stem = /^tenant_([a-z0-9_]+)_owner$/.exec(role)?.[1];
  const tenant = stem?.replaceAll('_', '-');
  if (tenant === undefined || ownerRoleName(tenant) !== role) {
    throw new Error(`migrations must run as a tenant owner role (tenant_<name>_owner), not as ${role}`);
  }
  return appRoleName(tenant);
}

/** The URL's database, for error messages; the URL itself carries a password and is never shown. */
function databaseOf(url: string): string {
  try {
    return decodeURIComponent(new URL(url).pathname.slice(1));
  } catch {
    throw new Error('applyMigrations needs a postgres:// URL of the tenant owner role');
  }
}

async function appliedCount(sql: Sql, set: MigrationSet): Promise<number> {
  const table = migrationsTable(set);
  const [found] = await sql`select to_regclass(${`${MIGRATIONS_SCHEMA}.${table}`}) is not null as "exists"`;
  if (!found?.exists) return 0;
  const [row] = await sql<{ count: number }[]>`
    select count(*)::int as count from ${sql(MIGRATIONS_SCHEMA)}.${sql(table)}
  `;
  return row?.count ?? 0;
}

/**
 * Tables the migrations created are covered by the owner's default privileges; this grant repairs
 * the app role's access when those were lost (revoked by hand) before the tables were created.
 */
async function grantAppAccess(sql: Sql, appRole: string): Promise<void> {
  await sql`grant select, insert, update, delete on all tables in schema public to ${sql(appRole)}`.simple();
  await sql`grant usage, select on all sequences in schema public to ${sql(appRole)}`.simple();
}

/**
 * Applies every pending migration of `sets`, in order, to the database of `ownerUrl` (a tenant owner
 * role's URL). Returns the version reached, `<set>@<last journal tag>` joined with `,`, and how many
 * migrations this call applied (0 when the database was up to date, or a concurrent call did them).
 */
export async function applyMigrations(
  ownerUrl: string,
  sets: MigrationSet[] = migrationSets,
): Promise<{ version: string; applied: number }> {
  assertSets(sets);
  const tags = await Promise.all(sets.map(latestTag));
  const version = sets.map((set, i) => `${set.name}@${tags[i]}`).join(',');
  const database = databaseOf(ownerUrl);

  // One connection, never recycled mid-run (max_lifetime off): the advisory lock belongs to the
  // session, and a reconnect would silently drop it.
  const sql = postgres(ownerUrl, {
    max: 1,
    max_lifetime: null,
    // Migrations are DDL and bind only scalars; see release-session.ts for why the type query is avoided.
    fetch_types: false,
    onnotice: () => {},
    connection: { application_name: 'tenantry-migrations' },
  });
  try {
    const appRole = await withContext(`locking database ${database} for migrations`, async () => {
      const [user] = await sql<{ role: string }[]>`select current_user as role`;
      const appRole = appRoleOfOwner(user?.role ?? '');
      // Held until the session ends (the finally below), on failure too.
      await sql`select pg_catalog.pg_advisory_lock(pg_catalog.hashtext(${MIGRATIONS_LOCK}::pg_catalog.text))`;
      return appRole;
    });
    const db = drizzle({ client: sql });
    let applied = 0;
    for (const set of sets) {
      applied += await withContext(`applying migration set ${set.name} to database ${database}`, async () => {
        const before = await appliedCount(sql, set);
        await migrate(db, {
          migrationsFolder: set.folder,
          migrationsSchema: MIGRATIONS_SCHEMA,
          migrationsTable: migrationsTable(set),
        });
        return (await appliedCount(sql, set)) - before;
      });
    }
    await withContext(`granting ${appRole} access to the tables of database ${database}`, () =>
      grantAppAccess(sql, appRole),
    );
    return { version, applied };
  } finally {
    releaseSession(sql);
  }
}
