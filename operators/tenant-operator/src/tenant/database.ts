import { createHash, createHmac, pbkdf2, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { appRoleName, databaseName, ownerRoleName } from '@tenantry/tenant-api';
import postgres, { type Sql } from 'postgres';
import { withContext } from '../errors.ts';
import { MIGRATIONS_LOCK } from './migrations.ts';
import { releaseSession } from './release-session.ts';

/**
 * A tenant's PostgreSQL database and its two roles. Tenant isolation rests on this module (BRIEF
 * section 5): the database admits only its own two roles (CONNECT is revoked from PUBLIC), and the
 * roles hold no cluster-wide privilege. Every function converges on the desired state from whatever
 * it finds, so each is safe to re-run after a crash at any point and concurrently with itself.
 *
 * Identifiers come from names.ts (which validates the tenant name) and are still quoted through
 * postgres.js `sql(identifier)`. DDL runs with the simple protocol: its text is per tenant (and per
 * password), so preparing it would leave a prepared statement per tenant in every admin connection.
 */

export interface RolePasswords {
  owner: string;
  app: string;
}

export interface DatabaseSettings {
  /** The plan's connection limit: the most sessions the app role (the services) may hold. */
  connectionLimit: number;
  /** Both roles refuse logins and lose their sessions; no data is touched. */
  suspended: boolean;
}

/** The owner only runs migrations: a small fixed budget, added to the plan's for the database. */
export const OWNER_CONNECTION_LIMIT = 5;
const MAX_CONNECTION_LIMIT = 10_000;
/** PostgreSQL's default (`scram_iterations`); logins cost this many PBKDF2 rounds. */
const SCRAM_ITERATIONS = 4096;
/** How long suspension or deletion waits for each terminated session to end. */
const TERMINATE_TIMEOUT_MS = 5_000;
const MIN_PASSWORD_LENGTH = 16;

// SQLSTATEs this module tolerates: a concurrent creator won the race, or a concurrent dropper did.
const DUPLICATE_DATABASE = '42P04';
const DUPLICATE_OBJECT = '42710';
/** Two concurrent CREATE ROLE/DATABASE can also collide on the catalog's unique index. */
const UNIQUE_VIOLATION = '23505';
const UNDEFINED_OBJECT = '42704';

interface TenantNames {
  database: string;
  owner: string;
  app: string;
}

function tenantNames(tenant: string): TenantNames {
  return { database: databaseName(tenant), owner: ownerRoleName(tenant), app: appRoleName(tenant) };
}

/** 32 random bytes, base64url: 43 characters, safe in URLs and connection strings without escaping. */
export function generatePassword(): string {
  return randomBytes(32).toString('base64url');
}

function hasCode(error: unknown, ...codes: string[]): boolean {
  return error instanceof postgres.PostgresError && codes.includes(error.code);
}

function assertPassword(role: string, password: string): void {
  // Printable ASCII only: SASLprep leaves it unchanged, so the verifier computed here is the one
  // PostgreSQL computes from the same password at login.
  if (password.length < MIN_PASSWORD_LENGTH || !/^[\x20-\x7e]+$/.test(password)) {
    throw new Error(
      `invalid password for role ${role}: must be at least ${MIN_PASSWORD_LENGTH} printable ASCII characters`,
    );
  }
}

function assertConnectionLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_CONNECTION_LIMIT) {
    throw new Error(
      `invalid connection limit ${limit}: must be an integer from 1 to ${MAX_CONNECTION_LIMIT}`,
    );
  }
}

const pbkdf2Async = promisify(pbkdf2);

/**
 * The SCRAM-SHA-256 verifier of `password` (RFC 5802/7677, PostgreSQL's stored format), computed here
 * as libpq's PQencryptPasswordConn does: the plaintext never reaches the server, so it cannot show up
 * in its logs (a failed ALTER ROLE is logged with its text) or in pg_stat_activity.
 */
async function scramVerifier(password: string): Promise<string> {
  const salt = randomBytes(16);
  const salted = await pbkdf2Async(password, salt, SCRAM_ITERATIONS, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest('base64');
  const serverKey = createHmac('sha256', salted).update('Server Key').digest('base64');
  return `SCRAM-SHA-256$${SCRAM_ITERATIONS}:${salt.toString('base64')}$${storedKey}:${serverKey}`;
}

/** The verifier as an SQL literal: only base64, `$` and `:` by construction, checked all the same. */
function verifierLiteral(verifier: string): string {
  if (!/^SCRAM-SHA-256\$\d+:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/.test(verifier)) {
    throw new Error('internal error: malformed SCRAM verifier');
  }
  return `'${verifier}'`;
}

interface RoleSpec {
  login: boolean;
  connectionLimit: number;
  password: string;
}

/**
 * Creates the role when missing, then sets every attribute on every call: this repairs drift (a role
 * made superuser by hand loses it) and makes the password in the Secret the one that works.
 */
async function ensureRole(admin: Sql, role: string, spec: RoleSpec): Promise<void> {
  const [existing] = await admin`select 1 from pg_catalog.pg_roles where rolname = ${role}`;
  if (!existing) {
    try {
      // NOLOGIN until the ALTER below gives it a password: a crash in between leaves no open door.
      await admin`create role ${admin(role)} nologin`.simple();
    } catch (error) {
      if (!hasCode(error, DUPLICATE_OBJECT, UNIQUE_VIOLATION)) throw error;
    }
  }
  const verifier = verifierLiteral(await scramVerifier(spec.password));
  await admin`
    alter role ${admin(role)} with ${admin.unsafe(spec.login ? 'login' : 'nologin')}
      nosuperuser nocreatedb nocreaterole noreplication nobypassrls
      connection limit ${admin.unsafe(String(spec.connectionLimit))}
      password ${admin.unsafe(verifier)}
  `.simple();
}

async function createDatabase(admin: Sql, names: TenantNames): Promise<boolean> {
  const [existing] = await admin`select 1 from pg_catalog.pg_database where datname = ${names.database}`;
  if (existing) return false;
  try {
    // Not in a transaction: PostgreSQL refuses CREATE DATABASE inside one.
    await admin`create database ${admin(names.database)} owner ${admin(names.owner)}`.simple();
    return true;
  } catch (error) {
    if (hasCode(error, DUPLICATE_DATABASE, UNIQUE_VIOLATION)) return false;
    throw error;
  }
}

/**
 * The search_path of every superuser session: pg_catalog alone. A tenant's owner can create functions
 * in its database's `public` schema (and a schema named like the admin role, which `"$user"` would
 * search); an unqualified call whose argument types match the owner's function better than
 * pg_catalog's (`pg_advisory_xact_lock(int)` beats the built-in `(bigint)`) would run the owner's
 * code as superuser. With only pg_catalog on the path no owner object is found (pg_temp is never
 * searched for functions), and every call below is qualified all the same. A startup parameter
 * outranks the `ALTER DATABASE ... SET search_path` an owner may set on its database.
 */
export const ADMIN_SEARCH_PATH = 'pg_catalog';

/**
 * A session of its own in `database`, with the admin's connection options: grants on a database's
 * schema and tables can only be made from inside it, and a session-level lock needs a connection that
 * the admin pool cannot hand to another caller. `shared` is the admin pool's internal state.
 */
function adminSession(admin: Sql, database: string): Sql {
  const { shared: _shared, ...options } = admin.options as typeof admin.options & { shared?: unknown };
  return postgres({
    ...(options as unknown as postgres.Options<Record<string, postgres.PostgresType>>),
    database,
    // A superuser session inside a database its owner controls: see ADMIN_SEARCH_PATH.
    connection: { ...options.connection, search_path: ADMIN_SEARCH_PATH },
    max: 1,
    max_lifetime: null,
    // These sessions bind only scalars: no array types to fetch, and no internal type query that
    // could fail unobserved when the server goes away during the handshake.
    fetch_types: false,
    onnotice: () => {},
  });
}

/**
 * Runs `work` holding the tenant's advisory lock: concurrent callers (a retry overlapping a slow call,
 * two operator replicas during a leader handover) take turns, because concurrent ALTER ROLE or GRANT
 * on the same catalog row fail with "tuple concurrently updated". The lock lives in a session of its
 * own, in the admin's database (advisory locks are per database), and ending it releases the lock.
 */
async function withTenantLock<T>(admin: Sql, names: TenantNames, work: () => Promise<T>): Promise<T> {
  const session = adminSession(admin, admin.options.database);
  try {
    await withContext(`locking database ${names.database}`, async () => {
      await session`select pg_catalog.pg_advisory_lock(pg_catalog.hashtext(${`tenantry.database:${names.database}`}::pg_catalog.text))`;
    });
    return await work();
  } finally {
    releaseSession(session);
  }
}

/**
 * Privileges inside the tenant database. The owner owns the `public` schema; nobody else may create
 * in it; the app role gets DML on the owner's tables and sequences, present (grants) and future
 * (default privileges), and nothing else: no TRUNCATE, REFERENCES, TRIGGER or DDL.
 */
async function grantInsideDatabase(admin: Sql, names: TenantNames): Promise<void> {
  const session = adminSession(admin, names.database);
  try {
    await session.begin(async (tx) => {
      // A migration granting on the same tables at the same moment would make one of the two fail
      // with "tuple concurrently updated": take turns with applyMigrations.
      await tx`select pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext(${MIGRATIONS_LOCK}::pg_catalog.text))`;
      const owner = tx(names.owner);
      const app = tx(names.app);
      await tx`alter schema public owner to ${owner}`.simple();
      await tx`revoke all on schema public from public`.simple();
      await tx`grant usage on schema public to ${app}`.simple();
      await tx`alter default privileges for role ${owner} in schema public
        grant select, insert, update, delete on tables to ${app}`.simple();
      await tx`alter default privileges for role ${owner} in schema public
        grant usage, select on sequences to ${app}`.simple();
      await tx`grant select, insert, update, delete on all tables in schema public to ${app}`.simple();
      await tx`grant usage, select on all sequences in schema public to ${app}`.simple();
    });
  } finally {
    releaseSession(session);
  }
}

/** Ends every session of the roles, waiting for each to exit. */
async function terminateSessions(admin: Sql, roles: string[]): Promise<void> {
  await admin`
    select pg_catalog.pg_terminate_backend(pid, ${TERMINATE_TIMEOUT_MS})
    from pg_catalog.pg_stat_activity
    where usename = any(${roles}::pg_catalog.name[]) and pid <> pg_catalog.pg_backend_pid()
  `;
}

/**
 * Converges the tenant's roles and database on the desired state; `created` says whether this call
 * created the database. The passwords are set on every call.
 */
export async function ensureTenantDatabase(
  admin: Sql,
  tenant: string,
  passwords: RolePasswords,
  settings: DatabaseSettings,
): Promise<{ database: string; created: boolean }> {
  const names = tenantNames(tenant);
  assertPassword(names.owner, passwords.owner);
  assertPassword(names.app, passwords.app);
  assertConnectionLimit(settings.connectionLimit);
  const login = !settings.suspended;

  return withTenantLock(admin, names, async () => {
    await withContext(`creating role ${names.owner}`, () =>
      ensureRole(admin, names.owner, {
        login,
        connectionLimit: OWNER_CONNECTION_LIMIT,
        password: passwords.owner,
      }),
    );
    await withContext(`creating role ${names.app}`, () =>
      ensureRole(admin, names.app, {
        login,
        connectionLimit: settings.connectionLimit,
        password: passwords.app,
      }),
    );
    const created = await withContext(`creating database ${names.database}`, () =>
      createDatabase(admin, names),
    );
    await withContext(`configuring database ${names.database}`, () =>
      admin.begin(async (tx) => {
        const database = tx(names.database);
        const limit = settings.connectionLimit + OWNER_CONNECTION_LIMIT;
        await tx`alter database ${database} owner to ${tx(names.owner)}`.simple();
        await tx`alter database ${database} connection limit ${tx.unsafe(String(limit))}`.simple();
        // PUBLIC holds CONNECT and TEMPORARY on a new database: without this, any role of the cluster
        // (another tenant's) could connect. The owner connects as owner; the app gets CONNECT only.
        await tx`revoke all on database ${database} from public`.simple();
        await tx`revoke all on database ${database} from ${tx(names.app)}`.simple();
        await tx`grant connect on database ${database} to ${tx(names.app)}`.simple();
      }),
    );
    await withContext(`granting privileges in database ${names.database}`, () =>
      grantInsideDatabase(admin, names),
    );
    if (settings.suspended) {
      // After NOLOGIN is committed, so a session terminated here cannot log in again.
      await withContext(`terminating sessions of suspended database ${names.database}`, () =>
        terminateSessions(admin, [names.owner, names.app]),
      );
    }
    return { database: names.database, created };
  });
}

/**
 * Every tenant database is stamped with the uid of the Tenant it was made for (its comment), so a
 * retained database is told apart from a new tenant's when a Tenant of the same name is created again.
 */
const OWNER_MARK = /^tenantry:tenant-uid=([0-9a-f-]{36})$/;

/**
 * The uid of the Tenant the tenant's database belongs to: undefined when there is no database, null for
 * one made before databases were stamped (taken to be the current tenant's).
 */
export async function databaseOwnerUid(admin: Sql, tenant: string): Promise<string | null | undefined> {
  const names = tenantNames(tenant);
  const [row] = await admin<{ comment: string | null }[]>`
    select pg_catalog.shobj_description(d.oid, 'pg_database') as comment
    from pg_catalog.pg_database d where d.datname = ${names.database}`;
  if (!row) return undefined;
  return OWNER_MARK.exec(row.comment ?? '')?.[1] ?? null;
}

/** Stamps the tenant's database as the Tenant `uid`'s. */
export async function markDatabaseOwner(admin: Sql, tenant: string, uid: string): Promise<void> {
  if (!/^[0-9a-f-]{36}$/.test(uid)) throw new Error(`not a Tenant uid: "${uid}"`);
  const names = tenantNames(tenant);
  await admin`comment on database ${admin(names.database)} is ${admin.unsafe(`'tenantry:tenant-uid=${uid}'`)}`.simple();
}

export interface TenantDatabaseState {
  databaseExists: boolean;
  ownerRoleExists: boolean;
  appRoleExists: boolean;
}

/** What exists of the tenant's database and roles, read from the catalogs (never from a cache). */
export async function tenantDatabaseState(admin: Sql, tenant: string): Promise<TenantDatabaseState> {
  const names = tenantNames(tenant);
  return withContext(`reading the state of database ${names.database}`, async () => {
    const [row] = await admin<TenantDatabaseState[]>`
      select
        exists (select 1 from pg_catalog.pg_database where datname = ${names.database}) as "databaseExists",
        exists (select 1 from pg_catalog.pg_roles where rolname = ${names.owner}) as "ownerRoleExists",
        exists (select 1 from pg_catalog.pg_roles where rolname = ${names.app}) as "appRoleExists"
    `;
    if (!row) throw new Error('the state query returned no row');
    return row;
  });
}

/**
 * Makes whichever of the tenant's roles exist NOLOGIN, then ends their sessions: after the ALTER has
 * committed, so a terminated session cannot log in again. Returns the roles that exist.
 */
async function refuseLogins(admin: Sql, names: TenantNames): Promise<string[]> {
  const roles = [names.owner, names.app];
  const existing = await admin<
    { rolname: string }[]
  >`select rolname from pg_catalog.pg_roles where rolname = any(${roles}::pg_catalog.name[])`;
  for (const { rolname } of existing) {
    try {
      await admin`alter role ${admin(rolname)} nologin`.simple();
    } catch (error) {
      if (!hasCode(error, UNDEFINED_OBJECT)) throw error;
    }
  }
  await terminateSessions(admin, roles);
  return existing.map((row) => row.rolname);
}

/**
 * Locks the tenant out without touching data or passwords, for a tenant deleted with
 * `reclaimPolicy: Retain`: its roles stop logging in and lose their sessions. No error when they are
 * already gone; ensureTenantDatabase with `suspended: false` lets them in again.
 */
export async function suspendTenantRoles(admin: Sql, tenant: string): Promise<void> {
  const names = tenantNames(tenant);
  await withTenantLock(admin, names, () =>
    withContext(`suspending the roles of database ${names.database}`, async () => {
      await refuseLogins(admin, names);
    }),
  );
}

/**
 * Drops the database and both roles, whatever part of them exists. Logins are refused first, so a
 * service reconnecting between the termination of its sessions and the drop cannot hold it open.
 */
export async function dropTenantDatabase(admin: Sql, tenant: string): Promise<void> {
  const names = tenantNames(tenant);
  await withTenantLock(admin, names, () =>
    withContext(`dropping database ${names.database}`, async () => {
      const roles = await refuseLogins(admin, names);
      // FORCE also ends sessions of other roles in it (the admin's own, someone's psql).
      await admin`drop database if exists ${admin(names.database)} with (force)`.simple();
      for (const role of roles) {
        try {
          // Revokes what the role may still hold outside its database (a grant on another database,
          // made by hand), which would otherwise block DROP ROLE. Objects inside the tenant database
          // went with it; this covers the admin's database and the cluster-wide catalogs.
          await admin`drop owned by ${admin(role)}`.simple();
          await admin`drop role if exists ${admin(role)}`.simple();
        } catch (error) {
          if (!hasCode(error, UNDEFINED_OBJECT)) throw error;
        }
      }
    }),
  );
}
