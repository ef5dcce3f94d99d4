import { adminSql, devstack, uniqueName } from '@tenantry/devstack/testing';
import { appRoleName, databaseName, ownerRoleName } from '@tenantry/tenant-api';
import postgres, { type Sql } from 'postgres';
import { afterAll, describe, expect, onTestFinished, test } from 'vitest';
import {
  type DatabaseSettings,
  dropTenantDatabase,
  ensureTenantDatabase,
  generatePassword,
  OWNER_CONNECTION_LIMIT,
  type RolePasswords,
  suspendTenantRoles,
  tenantDatabaseState,
} from './database.ts';
import { connect, urlFor } from './sql-test-helpers.ts';

/**
 * Against the devstack's real PostgreSQL, where every TCP login is checked with scram-sha-256. Each
 * test provisions its own tenants (unique names) and drops them, so files run in parallel.
 */
const admin = adminSql();
afterAll(() => admin.end());

const PLAN: DatabaseSettings = { connectionLimit: 10, suspended: false };

/** The superuser inside a tenant database, for arranging drift and checking from outside. */
function adminIn(database: string): Sql {
  const url = new URL(devstack().postgres.url);
  url.pathname = `/${database}`;
  return connect(url.toString());
}

/** The message a login (or first query) fails with: a login refused must fail, never hang. */
async function loginError(url: string): Promise<string> {
  const sql = connect(url);
  try {
    await sql`select 1`;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  throw new Error('the login succeeded');
}

interface Provisioned {
  tenant: string;
  database: string;
  owner: string;
  app: string;
  passwords: RolePasswords;
  ownerUrl: string;
  appUrl: string;
}

function tenantFixture(): Provisioned {
  const tenant = uniqueName('db');
  const passwords = { owner: generatePassword(), app: generatePassword() };
  const database = databaseName(tenant);
  const owner = ownerRoleName(tenant);
  const app = appRoleName(tenant);
  onTestFinished(() => dropTenantDatabase(admin, tenant));
  return {
    tenant,
    database,
    owner,
    app,
    passwords,
    ownerUrl: urlFor(owner, passwords.owner, database),
    appUrl: urlFor(app, passwords.app, database),
  };
}

async function provision(settings: DatabaseSettings = PLAN): Promise<Provisioned> {
  const fixture = tenantFixture();
  const result = await ensureTenantDatabase(admin, fixture.tenant, fixture.passwords, settings);
  expect(result).toEqual({ database: fixture.database, created: true });
  return fixture;
}

/** The owner's table with a row in it: what a migration would leave behind. */
async function seedNotes(t: Provisioned, text = 'kept'): Promise<void> {
  const owner = connect(t.ownerUrl);
  await owner`create table notes (id bigserial primary key, text text not null)`;
  await owner`insert into notes (text) values (${text})`;
}

describe('ensureTenantDatabase', () => {
  test('creates the database and roles once, with no cluster-wide privilege', async () => {
    const t = await provision();
    const again = await ensureTenantDatabase(admin, t.tenant, t.passwords, PLAN);
    expect(again).toEqual({ database: t.database, created: false });
    expect(await tenantDatabaseState(admin, t.tenant)).toEqual({
      databaseExists: true,
      ownerRoleExists: true,
      appRoleExists: true,
    });

    const roles = await admin`
      select rolname, rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls, rolcanlogin,
             rolconnlimit, rolpassword like 'SCRAM-SHA-256$%' as scram
      from pg_authid where rolname in (${t.owner}, ${t.app}) order by rolname`;
    // No cluster-wide power: neither role can escape its database or create another one.
    const attributes = {
      rolsuper: false,
      rolcreatedb: false,
      rolcreaterole: false,
      rolreplication: false,
      rolbypassrls: false,
      rolcanlogin: true,
      scram: true,
    };
    expect(roles).toEqual([
      { rolname: t.app, ...attributes, rolconnlimit: PLAN.connectionLimit },
      { rolname: t.owner, ...attributes, rolconnlimit: OWNER_CONNECTION_LIMIT },
    ]);

    const [database] = await admin`
      select pg_get_userbyid(datdba) as owner, datconnlimit,
             exists (select 1 from aclexplode(datacl) where grantee = 0) as "publicGranted",
             has_database_privilege(${t.app}, datname, 'CONNECT') as "appConnect",
             has_database_privilege(${t.app}, datname, 'CREATE') as "appCreate",
             has_database_privilege(${t.app}, datname, 'TEMPORARY') as "appTemporary"
      from pg_database where datname = ${t.database}`;
    expect(database).toEqual({
      owner: t.owner,
      datconnlimit: PLAN.connectionLimit + OWNER_CONNECTION_LIMIT,
      publicGranted: false,
      appConnect: true,
      appCreate: false,
      appTemporary: false,
    });

    const [schema] = await adminIn(t.database)`
      select pg_get_userbyid(nspowner) as owner,
             has_schema_privilege('public', nspname, 'CREATE') as "publicCreate",
             has_schema_privilege(${t.app}, nspname, 'CREATE') as "appCreate",
             has_schema_privilege(${t.app}, nspname, 'USAGE') as "appUsage"
      from pg_namespace where nspname = 'public'`;
    expect(schema).toEqual({ owner: t.owner, publicCreate: false, appCreate: false, appUsage: true });

    const [who] = await connect(t.appUrl)`select current_user as role`;
    expect(who?.role).toBe(t.app);
    const [ownerWho] = await connect(t.ownerUrl)`select current_user as role`;
    expect(ownerWho?.role).toBe(t.owner);
  });

  test('concurrent calls for a new tenant all succeed, and exactly one created it', async () => {
    const t = tenantFixture();
    // Without the tenant lock these fail with "tuple concurrently updated" (concurrent ALTER ROLE).
    const results = await Promise.all(
      Array.from({ length: 4 }, () => ensureTenantDatabase(admin, t.tenant, t.passwords, PLAN)),
    );
    expect(results.filter((r) => r.created)).toHaveLength(1);
    await connect(t.appUrl)`select 1`;
  });

  test('sets the passwords on every call: the new ones work, the old ones are refused', async () => {
    const t = await provision();
    // Hashed on the client, never spliced into SQL: a quote in a password is just a character.
    const passwords = { owner: "o'; drop database postgres; --", app: "a'); alter role x superuser; --" };
    await ensureTenantDatabase(admin, t.tenant, passwords, PLAN);

    expect(await loginError(t.appUrl)).toBe(`password authentication failed for user "${t.app}"`);
    expect(await loginError(t.ownerUrl)).toBe(`password authentication failed for user "${t.owner}"`);
    await connect(urlFor(t.app, passwords.app, t.database))`select 1`;
    await connect(urlFor(t.owner, passwords.owner, t.database))`select 1`;
  });

  test('recreates an app role dropped out of band, keeping the rows and its access to them', async () => {
    const t = await provision();
    await seedNotes(t);
    // Drift: someone drops the app role (DROP OWNED first, or DROP ROLE refuses).
    await adminIn(t.database)`drop owned by ${admin(t.app)}`.simple();
    await admin`drop role ${admin(t.app)}`.simple();
    expect((await tenantDatabaseState(admin, t.tenant)).appRoleExists).toBe(false);

    const result = await ensureTenantDatabase(admin, t.tenant, t.passwords, PLAN);
    expect(result.created).toBe(false);
    const rows = await connect(t.appUrl)`select text from notes`;
    expect(rows.map((r) => r.text)).toEqual(['kept']);
  });

  test("gives the app role DML on the owner's tables and nothing more", async () => {
    const t = await provision();
    await seedNotes(t);
    const app = connect(t.appUrl);
    // The table was created after provisioning: only the default privileges can have covered it.
    const [inserted] = await app`insert into notes (text) values ('by app') returning id`;
    await app`update notes set text = 'edited' where id = ${inserted?.id}`;
    expect((await app`select text from notes order by id`).map((r) => r.text)).toEqual(['kept', 'edited']);
    await app`delete from notes where id = ${inserted?.id}`;

    await expect(app`drop table notes`).rejects.toThrow('must be owner of table notes');
    await expect(app`alter table notes add column x int`).rejects.toThrow('must be owner of table notes');
    await expect(app`truncate notes`).rejects.toThrow('permission denied for table notes');
    await expect(app`create table mine (id int)`).rejects.toThrow('permission denied for schema public');
    await expect(app`create temporary table mine (id int)`).rejects.toThrow(
      `permission denied to create temporary tables in database "${t.database}"`,
    );
    await expect(app`create schema mine`).rejects.toThrow(`permission denied for database ${t.database}`);
    for (const sql of [app, connect(t.ownerUrl)]) {
      await expect(sql`create database mine`).rejects.toThrow('permission denied to create database');
      await expect(sql`create role mine`).rejects.toThrow('permission denied to create role');
      await expect(sql`alter role current_user superuser`).rejects.toThrow(
        'must be superuser to alter superuser roles',
      );
    }
  });

  test('applies the plan connection limit to the app role and follows plan changes', async () => {
    const t = await provision({ connectionLimit: 2, suspended: false });
    const sessions = [connect(t.appUrl), connect(t.appUrl)];
    await Promise.all(sessions.map((sql) => sql`select 1`));
    expect(await loginError(t.appUrl)).toBe(`too many connections for role "${t.app}"`);

    await ensureTenantDatabase(admin, t.tenant, t.passwords, { connectionLimit: 3, suspended: false });
    const [limits] = await admin`
      select (select rolconnlimit from pg_roles where rolname = ${t.app}) as role,
             (select datconnlimit from pg_database where datname = ${t.database}) as database`;
    expect(limits).toEqual({ role: 3, database: 3 + OWNER_CONNECTION_LIMIT });
    await connect(t.appUrl)`select 1`;
  });

  test('suspension refuses logins and ends open sessions without touching data; unsuspension restores', async () => {
    const t = await provision();
    await seedNotes(t);
    const open = connect(t.appUrl);
    const [session] = await open`select pg_backend_pid() as pid`;

    await ensureTenantDatabase(admin, t.tenant, t.passwords, { ...PLAN, suspended: true });
    expect(await loginError(t.appUrl)).toBe(`role "${t.app}" is not permitted to log in`);
    expect(await loginError(t.ownerUrl)).toBe(`role "${t.owner}" is not permitted to log in`);
    const [still] = await admin`select count(*)::int as n from pg_stat_activity where pid = ${session?.pid}`;
    expect(still?.n).toBe(0);
    await expect(open`select 1`).rejects.toThrow();
    expect((await adminIn(t.database)`select text from notes`).map((r) => r.text)).toEqual(['kept']);

    await ensureTenantDatabase(admin, t.tenant, t.passwords, PLAN);
    expect((await connect(t.appUrl)`select text from notes`).map((r) => r.text)).toEqual(['kept']);
  });

  test('errors say what was being done, on which object', async () => {
    // An admin that may create roles but not grant cluster-wide attributes: the first ALTER ROLE fails.
    const role = uniqueName('limited').replaceAll('-', '_');
    const password = generatePassword();
    await admin`create role ${admin(role)} login createrole password ${admin.unsafe(`'${password}'`)}`.simple();
    onTestFinished(() => admin`drop role if exists ${admin(role)}`.simple().then(() => {}));
    const limited = connect(urlFor(role, password, 'postgres'));
    const t = tenantFixture();

    const error = await ensureTenantDatabase(limited, t.tenant, t.passwords, PLAN).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(
      new RegExp(`^while creating role ${t.owner}: must be superuser`),
    );
    expect((error as Error).cause).toBeInstanceOf(postgres.PostgresError);
  });

  test('refuses passwords it cannot apply exactly and connection limits out of range', async () => {
    const tenant = uniqueName('db');
    const ok = generatePassword();
    await expect(ensureTenantDatabase(admin, tenant, { owner: 'short', app: ok }, PLAN)).rejects.toThrow(
      'invalid password for role',
    );
    await expect(
      ensureTenantDatabase(admin, tenant, { owner: ok, app: `${ok}\u00e9` }, PLAN),
    ).rejects.toThrow('printable ASCII');
    for (const connectionLimit of [0, -1, 1.5, Number.NaN]) {
      await expect(
        ensureTenantDatabase(admin, tenant, { owner: ok, app: ok }, { connectionLimit, suspended: false }),
      ).rejects.toThrow('invalid connection limit');
    }
    expect(await tenantDatabaseState(admin, tenant)).toEqual({
      databaseExists: false,
      ownerRoleExists: false,
      appRoleExists: false,
    });
  });
});

describe('isolation between tenants', () => {
  test("tenant A's roles cannot reach tenant B's database or data", async () => {
    const a = await provision();
    const b = await provision();
    await seedNotes(b, 'secret of b');

    // Connecting with A's credentials (right password) to B's database.
    expect(await loginError(urlFor(a.app, a.passwords.app, b.database))).toBe(
      `permission denied for database "${b.database}"`,
    );
    expect(await loginError(urlFor(a.owner, a.passwords.owner, b.database))).toBe(
      `permission denied for database "${b.database}"`,
    );
    // B's roles with A's passwords, and a wrong password.
    expect(await loginError(urlFor(b.app, a.passwords.app, b.database))).toBe(
      `password authentication failed for user "${b.app}"`,
    );
    expect(await loginError(urlFor(a.app, 'wrong-password-wrong-password', a.database))).toBe(
      `password authentication failed for user "${a.app}"`,
    );

    // Crafted queries from inside A's database, as A's app and as A's owner.
    for (const sql of [connect(a.appUrl), connect(a.ownerUrl)]) {
      await expect(sql.unsafe(`select * from ${b.database}.public.notes`)).rejects.toThrow(
        'cross-database references are not implemented',
      );
      await expect(sql`set role ${sql(b.owner)}`.simple()).rejects.toThrow(
        `permission denied to set role "${b.owner}"`,
      );
      await expect(sql`set session authorization ${sql(b.app)}`.simple()).rejects.toThrow(
        'permission denied to set session authorization',
      );
      // dblink would reach other databases; it is untrusted, so only a superuser may install it (the
      // second message is for a server without contrib, where it cannot be installed at all).
      await expect(sql`create extension dblink`).rejects.toThrow(
        /permission denied to create extension "dblink"|could not open extension control file/,
      );
      await expect(sql`select pg_read_file('PG_VERSION')`).rejects.toThrow(
        'permission denied for function pg_read_file',
      );
      await expect(sql`copy (select 1) to program 'true'`).rejects.toThrow(/pg_execute_server_program/);
      await expect(sql`select lo_import('/etc/passwd')`).rejects.toThrow(
        'permission denied for function lo_import',
      );
      await expect(
        sql`grant connect on database ${sql(b.database)} to current_user`.simple(),
      ).rejects.toThrow(`permission denied for database ${b.database}`);
    }
    expect((await adminIn(b.database)`select text from notes`).map((r) => r.text)).toEqual(['secret of b']);
  });
});

describe('suspendTenantRoles', () => {
  test('locks both roles out and ends their sessions, keeping data and passwords', async () => {
    const t = await provision();
    await seedNotes(t);
    const [session] = await connect(t.appUrl)`select pg_backend_pid() as pid`;

    await suspendTenantRoles(admin, t.tenant);
    expect(await loginError(t.appUrl)).toBe(`role "${t.app}" is not permitted to log in`);
    expect(await loginError(t.ownerUrl)).toBe(`role "${t.owner}" is not permitted to log in`);
    const [still] = await admin`select count(*)::int as n from pg_stat_activity where pid = ${session?.pid}`;
    expect(still?.n).toBe(0);

    await ensureTenantDatabase(admin, t.tenant, t.passwords, PLAN);
    expect((await connect(t.appUrl)`select text from notes`).map((r) => r.text)).toEqual(['kept']);
  });

  test('does nothing for a tenant whose roles are gone', async () => {
    await suspendTenantRoles(admin, uniqueName('db'));
  });
});

describe('dropTenantDatabase', () => {
  test('drops the database and both roles with a session open, and again without error', async () => {
    const t = await provision();
    await seedNotes(t);
    const open = connect(t.appUrl);
    await open`select 1`;

    await dropTenantDatabase(admin, t.tenant);
    expect(await tenantDatabaseState(admin, t.tenant)).toEqual({
      databaseExists: false,
      ownerRoleExists: false,
      appRoleExists: false,
    });
    await expect(open`select 1`).rejects.toThrow();
    await dropTenantDatabase(admin, t.tenant);
  });

  test('drops what remains of a half-provisioned tenant', async () => {
    const t = await provision();
    await admin`drop database ${admin(t.database)}`.simple();
    await dropTenantDatabase(admin, t.tenant);
    expect(await tenantDatabaseState(admin, t.tenant)).toEqual({
      databaseExists: false,
      ownerRoleExists: false,
      appRoleExists: false,
    });
  });
});

describe('tenant names and passwords', () => {
  test.each([
    ['a"; drop database postgres; --'],
    ["Robert'); DROP TABLE students; --"],
    ['Acme'],
    ['ab'],
    ['acme_corp'],
    ['-acme'],
    [''],
  ])('rejects %j before any SQL runs', async (tenant) => {
    const sent: string[] = [];
    const watched = adminSql({ debug: (_connection, query) => sent.push(query) });
    onTestFinished(() => watched.end());
    const passwords = { owner: generatePassword(), app: generatePassword() };
    await expect(ensureTenantDatabase(watched, tenant, passwords, PLAN)).rejects.toThrow(
      'invalid tenant name',
    );
    await expect(tenantDatabaseState(watched, tenant)).rejects.toThrow('invalid tenant name');
    await expect(dropTenantDatabase(watched, tenant)).rejects.toThrow('invalid tenant name');
    await expect(suspendTenantRoles(watched, tenant)).rejects.toThrow('invalid tenant name');
    expect(sent).toEqual([]);
  });

  test('generates distinct URL-safe passwords of at least 32 characters', () => {
    const passwords = Array.from({ length: 100 }, generatePassword);
    for (const password of passwords) expect(password).toMatch(/^[A-Za-z0-9_-]{32,}$/);
    expect(new Set(passwords).size).toBe(passwords.length);
  });
});
