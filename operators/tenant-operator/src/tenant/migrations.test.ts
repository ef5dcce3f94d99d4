import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminSql, devstack, uniqueName } from '@tenantry/devstack/testing';
import { appRoleName, databaseName, ownerRoleName } from '@tenantry/tenant-api';
import { afterAll, describe, expect, onTestFinished, test } from 'vitest';
import {
  dropTenantDatabase,
  ensureTenantDatabase,
  generatePassword,
  type RolePasswords,
} from './database.ts';
import { applyMigrations, type MigrationSet, migrationSets } from './migrations.ts';
import { connect, urlFor } from './sql-test-helpers.ts';

/** Against the devstack's real PostgreSQL; every test provisions its own tenant and drops it. */
const admin = adminSql();
afterAll(() => admin.end());

const platform = migrationSets.find((set) => set.name === 'platform');
if (!platform) throw new Error('the platform migration set is not registered');
const platformTags: string[] = JSON.parse(
  readFileSync(join(platform.folder, 'meta', '_journal.json'), 'utf8'),
).entries.map((entry: { tag: string }) => entry.tag);
const PLAN = { connectionLimit: 10, suspended: false };
const PLATFORM_VERSION = `platform@${platformTags.at(-1)}`;
/** Tests about the mechanism pin the set they apply: the registry grows as services add theirs. */
const PLATFORM_ONLY: MigrationSet[] = platform ? [platform] : [];

interface Provisioned {
  tenant: string;
  passwords: RolePasswords;
  database: string;
  ownerUrl: string;
  appUrl: string;
  /** The superuser inside the tenant database. */
  adminUrl: string;
}

async function provision(): Promise<Provisioned> {
  const tenant = uniqueName('db');
  const passwords = { owner: generatePassword(), app: generatePassword() };
  onTestFinished(() => dropTenantDatabase(admin, tenant));
  const { database } = await ensureTenantDatabase(admin, tenant, passwords, PLAN);
  const adminUrl = new URL(devstack().postgres.url);
  adminUrl.pathname = `/${database}`;
  return {
    tenant,
    passwords,
    database,
    ownerUrl: urlFor(ownerRoleName(tenant), passwords.owner, database),
    appUrl: urlFor(appRoleName(tenant), passwords.app, database),
    adminUrl: adminUrl.toString(),
  };
}

/** A one-migration set in a temporary folder, laid out as drizzle-kit writes it. */
function temporarySet(name: string, tag: string, sql: string): MigrationSet {
  const folder = mkdtempSync(join(tmpdir(), `tenantry-migrations-${name}-`));
  onTestFinished(() => rmSync(folder, { recursive: true, force: true }));
  mkdirSync(join(folder, 'meta'));
  const journal = {
    version: '7',
    dialect: 'postgresql',
    entries: [{ idx: 0, version: '7', when: 1_700_000_000_000, tag, breakpoints: true }],
  };
  writeFileSync(join(folder, 'meta', '_journal.json'), JSON.stringify(journal));
  writeFileSync(join(folder, `${tag}.sql`), sql);
  return { name, folder };
}

describe('applyMigrations', () => {
  test('by default applies every registered set, the events outbox among them', async () => {
    const t = await provision();
    const { version, applied } = await applyMigrations(t.ownerUrl);
    expect(version.split(',').map((v) => v.split('@')[0])).toEqual(migrationSets.map((set) => set.name));
    expect(applied).toBeGreaterThanOrEqual(migrationSets.length);
    const sql = connect(t.adminUrl);
    const tables = await sql<
      { tablename: string }[]
    >`select tablename from pg_tables where schemaname = 'public'`;
    expect(tables.map((r) => r.tablename)).toEqual(
      expect.arrayContaining(['tenant_settings', 'outbox', 'processed_events']),
    );
  });

  test('applies the platform set once; again it applies nothing and reports the same version', async () => {
    const t = await provision();
    expect(await applyMigrations(t.ownerUrl, PLATFORM_ONLY)).toEqual({
      version: PLATFORM_VERSION,
      applied: platformTags.length,
    });
    expect(await applyMigrations(t.ownerUrl, PLATFORM_ONLY)).toEqual({
      version: PLATFORM_VERSION,
      applied: 0,
    });
    expect(PLATFORM_VERSION).toMatch(/^platform@\d{4}_\w+$/);

    const sql = connect(t.adminUrl);
    const tables = await sql`
      select tablename, tableowner from pg_tables where schemaname = 'public' order by tablename`;
    expect(tables).toEqual([
      { tablename: 'audit_log', tableowner: ownerRoleName(t.tenant) },
      { tablename: 'tenant_settings', tableowner: ownerRoleName(t.tenant) },
    ]);
    const [bookkeeping] = await sql`select count(*)::int as n from drizzle.__migrations_platform`;
    expect(bookkeeping?.n).toBe(platformTags.length);
  });

  test('concurrent calls on one tenant all succeed and apply each migration once', async () => {
    const t = await provision();
    const results = await Promise.all([
      applyMigrations(t.ownerUrl, PLATFORM_ONLY),
      applyMigrations(t.ownerUrl, PLATFORM_ONLY),
    ]);
    expect(results.map((r) => r.version)).toEqual([PLATFORM_VERSION, PLATFORM_VERSION]);
    expect(results.reduce((sum, r) => sum + r.applied, 0)).toBe(platformTags.length);
    const [bookkeeping] = await connect(
      t.adminUrl,
    )`select count(*)::int as n from drizzle.__migrations_platform`;
    expect(bookkeeping?.n).toBe(platformTags.length);
  });

  test('takes turns with a concurrent ensureTenantDatabase granting on the same tables', async () => {
    const t = await provision();
    // Without the shared lock, about one run in three of 60 rounds failed with "tuple concurrently
    // updated" (both GRANT on the same tables): a probabilistic check, not a proof.
    for (let round = 0; round < 30; round++) {
      await Promise.all([
        applyMigrations(t.ownerUrl, PLATFORM_ONLY),
        ensureTenantDatabase(admin, t.tenant, t.passwords, PLAN),
      ]);
    }
    await connect(t.appUrl)`insert into audit_log (action) values ('after')`;
  });

  test('the app role can read and write the migrated tables but not change or drop them', async () => {
    const t = await provision();
    await applyMigrations(t.ownerUrl, PLATFORM_ONLY);
    const app = connect(t.appUrl);

    await app`insert into tenant_settings (key, value) values ('theme', ${app.json({ dark: true })})`;
    await app`update tenant_settings set value = ${app.json({ dark: false })}, updated_at = now() where key = 'theme'`;
    const [setting] = await app`select value from tenant_settings where key = 'theme'`;
    expect(setting?.value).toEqual({ dark: false });
    // bigserial: the app role needs USAGE on the owner's sequence too.
    const [entry] = await app`insert into audit_log (actor, action) values ('ops', 'login') returning id`;
    expect(entry?.id).toBeDefined();
    await app`delete from tenant_settings where key = 'theme'`;
    expect(await app`select key from tenant_settings`).toHaveLength(0);

    await expect(app`drop table audit_log`).rejects.toThrow('must be owner of table audit_log');
    await expect(app`alter table tenant_settings add column x int`).rejects.toThrow(
      'must be owner of table tenant_settings',
    );
    await expect(app`create table mine (id int)`).rejects.toThrow('permission denied for schema public');
    await expect(app`create database mine`).rejects.toThrow('permission denied to create database');
    await expect(app`create role mine`).rejects.toThrow('permission denied to create role');
    // The bookkeeping is the owner's alone: the app role cannot rewrite migration history.
    await expect(app`delete from drizzle.__migrations_platform`).rejects.toThrow(
      'permission denied for schema drizzle',
    );
  });

  test("grants the app role access to new tables when the owner's default privileges were lost", async () => {
    const t = await provision();
    const app = appRoleName(t.tenant);
    const owner = ownerRoleName(t.tenant);
    // Drift: default privileges revoked by hand before the tables exist.
    const sql = connect(t.adminUrl);
    await sql`alter default privileges for role ${sql(owner)} in schema public
      revoke all on tables from ${sql(app)}`.simple();
    await sql`alter default privileges for role ${sql(owner)} in schema public
      revoke all on sequences from ${sql(app)}`.simple();

    await applyMigrations(t.ownerUrl, PLATFORM_ONLY);
    const appSql = connect(t.appUrl);
    await appSql`insert into audit_log (action) values ('granted')`;
    expect(await appSql`select action from audit_log`).toEqual([{ action: 'granted' }]);
  });

  test('applies several sets, each with its own bookkeeping table, and joins their versions', async () => {
    const t = await provision();
    const extra = temporarySet('extra', '0000_items', 'CREATE TABLE "extra_items" ("id" text PRIMARY KEY);');
    const sets = [...PLATFORM_ONLY, extra];

    expect(await applyMigrations(t.ownerUrl, sets)).toEqual({
      version: `${PLATFORM_VERSION},extra@0000_items`,
      applied: platformTags.length + 1,
    });
    expect(await applyMigrations(t.ownerUrl, sets)).toEqual({
      version: `${PLATFORM_VERSION},extra@0000_items`,
      applied: 0,
    });
    const [bookkeeping] = await connect(t.adminUrl)`
      select (select count(*)::int from drizzle.__migrations_platform) as platform,
             (select count(*)::int from drizzle.__migrations_extra) as extra`;
    expect(bookkeeping).toEqual({ platform: platformTags.length, extra: 1 });
    await connect(t.appUrl)`insert into extra_items (id) values ('a')`;
  });

  test('runs only as a tenant owner role, so every table belongs to the owner', async () => {
    const t = await provision();
    await expect(applyMigrations(t.adminUrl)).rejects.toThrow(
      new RegExp(
        `^while locking database ${t.database} for migrations: migrations must run as a tenant owner role`,
      ),
    );
    await expect(applyMigrations(t.appUrl)).rejects.toThrow('migrations must run as a tenant owner role');
    const [created] = await connect(t.adminUrl)`select to_regclass('public.tenant_settings') as name`;
    expect(created?.name).toBeNull();
  });

  test('reports a refused login with the database it was migrating', async () => {
    const t = await provision();
    const wrong = new URL(t.ownerUrl);
    wrong.password = 'not-the-owner-password';
    const error = await applyMigrations(wrong.toString()).catch((e: unknown) => e);
    expect((error as Error).message).toBe(
      `while locking database ${t.database} for migrations: password authentication failed for user "${ownerRoleName(t.tenant)}"`,
    );
  });

  test('never echoes a malformed URL, which may hold a password', async () => {
    const error = await applyMigrations('postgres//owner:s3cret@host/db').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toBe('applyMigrations needs a postgres:// URL of the tenant owner role');
    expect((error as Error).cause).toBeUndefined();
  });

  test('rejects invalid sets before connecting', async () => {
    // Nothing listens on port 1: reaching the database would fail differently.
    const nowhere = `postgres://nobody:nothing@127.0.0.1:1/${databaseName('nowhere')}`;
    await expect(applyMigrations(nowhere, [{ name: 'Bad-Name', folder: '/nonexistent' }])).rejects.toThrow(
      'invalid migration set name "Bad-Name"',
    );
    await expect(applyMigrations(nowhere, [...migrationSets, ...migrationSets])).rejects.toThrow(
      'migration set "platform" is registered twice',
    );
    await expect(applyMigrations(nowhere, [{ name: 'missing', folder: '/nonexistent' }])).rejects.toThrow(
      'while reading the journal of migration set missing',
    );
  });
});
