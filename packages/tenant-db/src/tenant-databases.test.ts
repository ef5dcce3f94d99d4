import { CoreV1Api } from '@kubernetes/client-node';
import { adminSql, test } from '@tenantry/devstack/testing';
import { sql as drizzleSql } from 'drizzle-orm';
import { afterAll, expect } from 'vitest';
import { TenantDatabaseUnavailableError, UnknownTenantError } from './errors.ts';
import {
  EVENTUALLY,
  provisionTenant,
  sessionsOf,
  startDatabases,
  writeTenantSecrets,
} from './test-support.ts';

/**
 * Against the devstack's real API server and PostgreSQL: tenants are provisioned with the operator's
 * own code, and TenantDatabases follows their Secrets through a real watch.
 */
const admin = adminSql();
afterAll(() => admin.end());

test('serves a tenant provisioned after start, as its own app role in its own database', async ({
  kube,
  namespace,
}) => {
  const queries: string[] = [];
  const databases = await startDatabases({
    kc: kube,
    namespace,
    onQuery: (tenant) => queries.push(tenant),
  });
  expect(databases.stats().tenants).toBe(0);

  const tenant = await provisionTenant(admin, kube, namespace);
  await expect.poll(() => databases.has(tenant.name), EVENTUALLY).toBe(true);

  const [session] = await databases.sql(tenant.name)<{ user: string; database: string }[]>`
    select current_user as user, current_database() as database
  `;
  expect(session).toEqual({ user: tenant.appRole, database: tenant.database });
  // Pools are configured for drizzle from the start: a raw query's types never depend on whether a
  // drizzle instance was created yet.
  const [time] = await databases.sql(tenant.name)`select '2024-05-06 07:08:09+00'::timestamptz as at`;
  expect(time?.at).toBeTypeOf('string');
  const rows = await databases
    .drizzle(tenant.name)
    .execute<{ user: string }>(drizzleSql`select current_user as user`);
  expect(rows[0]?.user).toBe(tenant.appRole);
  expect(queries).toEqual([tenant.name, tenant.name, tenant.name]);
  // The owner's Secret carries the same labels, and is not taken for a tenant.
  expect(databases.stats()).toMatchObject({
    tenants: 1,
    openPools: 1,
    perTenant: { [tenant.name]: { maxConnections: 2, inFlight: 0 } },
  });
});

test('an unknown tenant is refused with TENANT_NOT_FOUND', async ({ kube, namespace }) => {
  const databases = await startDatabases({ kc: kube, namespace });
  expect(databases.has('nobody')).toBe(false);
  expect(() => databases.sql('nobody')).toThrow(UnknownTenantError);
  expect(() => databases.drizzle('nobody')).toThrow(UnknownTenantError);
  const refused = await databases.withTransaction('nobody', async () => 1).catch((error: unknown) => error);
  expect(refused).toBeInstanceOf(UnknownTenantError);
  expect(refused).toMatchObject({ code: 'TENANT_NOT_FOUND', tenant: 'nobody' });
  expect(databases.stats().openPools).toBe(0);
});

test('a database that refuses the session fails with the tenant named, and no password', async ({
  kube,
  namespace,
}) => {
  const databases = await startDatabases({ kc: kube, namespace });
  // The Secret exists, the role does not yet: the moment between the operator's first two steps.
  const tenant = await writeTenantSecrets(kube, namespace);
  await expect.poll(() => databases.has(tenant.name), EVENTUALLY).toBe(true);

  const failure = await databases.sql(tenant.name)`select 1`
    .then(() => undefined)
    .catch((error: unknown) => error);
  expect(failure).toBeInstanceOf(TenantDatabaseUnavailableError);
  expect(failure).toMatchObject({
    code: 'TENANT_DATABASE_UNAVAILABLE',
    tenant: tenant.name,
    message: expect.stringMatching(`^while connecting to the database of tenant ${tenant.name}: `),
    cause: { code: '28P01' },
  });
  expect(String((failure as Error).message)).not.toContain(tenant.appPassword);
});

test('a deleted Secret makes the tenant unknown and closes its pool', async ({ kube, namespace }) => {
  const databases = await startDatabases({ kc: kube, namespace });
  const tenant = await provisionTenant(admin, kube, namespace);
  await expect.poll(() => databases.has(tenant.name), EVENTUALLY).toBe(true);
  const handle = databases.sql(tenant.name);
  await handle`select 1`;
  expect(await sessionsOf(admin, tenant.appRole)).not.toEqual([]);

  await kube.makeApiClient(CoreV1Api).deleteNamespacedSecret({ name: tenant.secretName, namespace });

  await expect.poll(() => databases.has(tenant.name), EVENTUALLY).toBe(false);
  expect(() => databases.sql(tenant.name)).toThrow(UnknownTenantError);
  // A handle taken before the deletion does not keep the tenant alive.
  expect(() => handle`select 1`).toThrow(UnknownTenantError);
  expect(databases.stats()).toMatchObject({ tenants: 0, openPools: 0 });
  await expect.poll(() => sessionsOf(admin, tenant.appRole), EVENTUALLY).toEqual([]);
});

test('at most maxTenantsOpen pools are open; an evicted tenant is closed and served again on next use', async ({
  kube,
  namespace,
}) => {
  const databases = await startDatabases({ kc: kube, namespace, maxTenantsOpen: 2 });
  const tenants = [
    await provisionTenant(admin, kube, namespace),
    await provisionTenant(admin, kube, namespace),
    await provisionTenant(admin, kube, namespace),
  ];
  await expect.poll(() => tenants.every((t) => databases.has(t.name)), EVENTUALLY).toBe(true);
  const [first, second, third] = tenants.map((t) => t.name);

  for (const tenant of tenants) {
    const [row] = await databases.sql(tenant.name)`select current_user as user`;
    expect(row?.user).toBe(tenant.appRole);
    expect(databases.stats().openPools).toBeLessThanOrEqual(2);
  }
  expect(Object.keys(databases.stats().perTenant)).toEqual([second, third]);
  // Evicted gracefully: its sessions end.
  await expect.poll(() => sessionsOf(admin, tenants[0]?.appRole ?? ''), EVENTUALLY).toEqual([]);

  const [again] = await databases.sql(tenants[0]?.name ?? '')`select current_user as user`;
  expect(again?.user).toBe(tenants[0]?.appRole);
  expect(databases.stats().openPools).toBe(2);
  expect(Object.keys(databases.stats().perTenant)).toEqual([third, first]);
});

test('a pool with work in flight is not evicted until the work is done', async ({ kube, namespace }) => {
  const databases = await startDatabases({ kc: kube, namespace, maxTenantsOpen: 1 });
  const busy = await provisionTenant(admin, kube, namespace);
  const other = await provisionTenant(admin, kube, namespace);
  await expect.poll(() => databases.has(busy.name) && databases.has(other.name), EVENTUALLY).toBe(true);

  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const transaction = databases.withTransaction(busy.name, async (tx) => {
    await tx`select 1`;
    await gate;
    const [row] = await tx`select current_user as user`;
    return row?.user;
  });
  await expect.poll(() => databases.stats().perTenant[busy.name]?.inFlight, EVENTUALLY).toBe(1);

  await databases.sql(other.name)`select 1`;
  // Back within the bound as soon as possible, without cutting off the running transaction: the pool
  // that went idle is the one closed.
  expect(Object.keys(databases.stats().perTenant)).toEqual([busy.name]);

  release();
  expect(await transaction).toBe(busy.appRole);
  await databases.sql(other.name)`select 1`;
  expect(Object.keys(databases.stats().perTenant)).toEqual([other.name]);
  await expect.poll(() => sessionsOf(admin, busy.appRole), EVENTUALLY).toEqual([]);
});
