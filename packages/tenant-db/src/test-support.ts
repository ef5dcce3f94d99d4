import { randomUUID } from 'node:crypto';
import { CoreV1Api, type KubeConfig, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { devstack, uniqueName } from '@tenantry/devstack/testing';
import type { Tenant } from '@tenantry/tenant-api';
import {
  appRoleName,
  appSecretName,
  databaseName,
  defaultKeysNamespace,
  ownerRoleName,
} from '@tenantry/tenant-api';
import {
  type DatabaseSettings,
  dropTenantDatabase,
  ensureCredentials,
  ensureTenantDatabase,
  generatePassword,
} from '@tenantry/tenant-operator/testing';
import type { Logger } from '@tenantry/tenant-secrets';
import postgres, { type Sql } from 'postgres';
import { onTestFinished } from 'vitest';
import { TenantDatabases, type TenantDatabasesOptions } from './tenant-databases.ts';

/**
 * Tenants provisioned with the operator's own building blocks (no operator process): its Secrets,
 * written first as the operator does, then its roles and database. Each is dropped after the test.
 */
/** For expect.poll: a watch event or a session ending takes milliseconds, but a loaded machine is slow. */
export const EVENTUALLY = { timeout: 15_000, interval: 50 };

export const PLAN: DatabaseSettings = { connectionLimit: 10, suspended: false };

export interface TestTenant {
  name: string;
  database: string;
  appRole: string;
  ownerRole: string;
  secretName: string;
  appPassword: string;
  ownerPassword: string;
}

function endpoint(): { host: string; port: number } {
  const url = new URL(devstack().postgres.url);
  return { host: url.hostname, port: Number(url.port) };
}

/** Only the tenant's Secrets, as right after the operator's first step: no role or database yet. */
export async function writeTenantSecrets(
  kc: KubeConfig,
  namespace: string,
  name = uniqueName('tdb'),
): Promise<TestTenant> {
  const tenant: Tenant = {
    apiVersion: 'tenantry.dev/v1alpha1',
    kind: 'Tenant',
    metadata: { name, uid: randomUUID() },
    spec: { displayName: name, plan: 'free' },
  };
  const core = kc.makeApiClient(CoreV1Api);
  // The owner's Secret goes to the keys namespace, as the operator's; services never read it.
  const keys = defaultKeysNamespace(namespace);
  await core.createNamespace({ body: { metadata: { name: keys } } }).catch((error: unknown) => {
    if ((error as { code?: number }).code !== 409) throw error;
  });
  const credentials = await ensureCredentials(core, tenant, { platform: namespace, keys }, endpoint());
  return {
    name,
    database: databaseName(name),
    appRole: appRoleName(name),
    ownerRole: ownerRoleName(name),
    secretName: appSecretName(name),
    appPassword: credentials.app.password,
    ownerPassword: credentials.owner.password,
  };
}

export async function provisionTenant(admin: Sql, kc: KubeConfig, namespace: string): Promise<TestTenant> {
  const tenant = await writeTenantSecrets(kc, namespace);
  onTestFinished(() => dropTenantDatabase(admin, tenant.name));
  await ensureTenantDatabase(
    admin,
    tenant.name,
    { owner: tenant.ownerPassword, app: tenant.appPassword },
    PLAN,
  );
  return tenant;
}

/** Rotates the app role's password as an operator would: the role first, then the Secret. */
export async function rotateAppPassword(
  admin: Sql,
  kc: KubeConfig,
  namespace: string,
  tenant: TestTenant,
): Promise<string> {
  const password = generatePassword();
  await ensureTenantDatabase(admin, tenant.name, { owner: tenant.ownerPassword, app: password }, PLAN);
  const core = kc.makeApiClient(CoreV1Api);
  const secret = await core.readNamespacedSecret({ name: tenant.secretName, namespace });
  const url = `postgres://${tenant.appRole}:${password}@${endpoint().host}:${endpoint().port}/${tenant.database}`;
  secret.data = {
    ...secret.data,
    password: Buffer.from(password).toString('base64'),
    url: Buffer.from(url).toString('base64'),
  };
  await core.replaceNamespacedSecret({ name: tenant.secretName, namespace, body: secret });
  return password;
}

/** A superuser session inside a tenant's database, for arranging data and checking from outside. */
export function adminIn(database: string): Sql {
  const url = new URL(devstack().postgres.url);
  url.pathname = `/${database}`;
  const sql = postgres(url.toString(), { max: 1, onnotice: () => {} });
  onTestFinished(() => sql.end());
  return sql;
}

/** A connection as `username`/`password` to any database, the way a misconfigured service would open one. */
export function connectAs(username: string, password: string, database: string): Sql {
  const sql = postgres({ ...endpoint(), database, username, password, max: 1, onnotice: () => {} });
  onTestFinished(() => sql.end());
  return sql;
}

/** Backend pids of the sessions a role holds, from pg_stat_activity. */
export async function sessionsOf(admin: Sql, role: string): Promise<number[]> {
  const rows = await admin<{ pid: number }[]>`select pid from pg_stat_activity where usename = ${role}`;
  return rows.map((row) => row.pid).sort();
}

export interface LogLine {
  level: 'info' | 'warn';
  obj: object;
  msg: string;
}

/** A logger that keeps its lines, so tests can read what was logged (and what never is). */
export function capturingLogger(): Logger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  return {
    lines,
    info: (obj, msg) => lines.push({ level: 'info', obj, msg }),
    warn: (obj, msg) => lines.push({ level: 'warn', obj, msg }),
  };
}

/** TenantDatabases for one test, closed after it. */
export async function startDatabases(
  options: Pick<TenantDatabasesOptions, 'kc' | 'namespace'> & Partial<TenantDatabasesOptions>,
): Promise<TenantDatabases> {
  const databases = await TenantDatabases.start({
    maxConnectionsPerTenant: 2,
    maxTenantsOpen: 10,
    ...options,
  });
  onTestFinished(() => databases.close());
  return databases;
}

/** The KubeConfig of a new service account, with no permissions until some are bound to it. */
export { serviceAccountKubeConfig } from '@tenantry/devstack/testing';

/** What a service needs to follow the tenant Secrets: list and watch them in the platform namespace. */
export async function allowWatchingSecrets(admin: KubeConfig, namespace: string, serviceAccount: string) {
  const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
  await rbac.createNamespacedRole({
    namespace,
    body: {
      metadata: { name: 'tenant-secrets-reader' },
      rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['list', 'watch'] }],
    },
  });
  await rbac.createNamespacedRoleBinding({
    namespace,
    body: {
      metadata: { name: 'tenant-secrets-reader' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'tenant-secrets-reader' },
      subjects: [{ kind: 'ServiceAccount', name: serviceAccount, namespace }],
    },
  });
}
