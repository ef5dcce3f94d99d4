import { adminSql, test } from '@tenantry/devstack/testing';
import { afterAll, expect } from 'vitest';
import {
  capturingLogger,
  connectAs,
  EVENTUALLY,
  provisionTenant,
  rotateAppPassword,
  sessionsOf,
  startDatabases,
} from './test-support.ts';

const admin = adminSql();
afterAll(() => admin.end());

test('a rotated password replaces the pool: the old one drains, queries keep working', async ({
  kube,
  namespace,
}) => {
  const logger = capturingLogger();
  const databases = await startDatabases({ kc: kube, namespace, logger });
  const tenant = await provisionTenant(admin, kube, namespace);
  await expect.poll(() => databases.has(tenant.name), EVENTUALLY).toBe(true);
  // Held across the rotation, as a request in flight would hold it.
  const handle = databases.sql(tenant.name);
  const pid = async () => (await handle<{ pid: number }[]>`select pg_backend_pid() as pid`)[0]?.pid;
  expect(await pid()).toBeTypeOf('number');
  const oldSessions = await sessionsOf(admin, tenant.appRole);
  expect(oldSessions).not.toEqual([]);

  const newPassword = await rotateAppPassword(admin, kube, namespace, tenant);
  // The old password no longer opens sessions: only the new one can serve the queries below.
  const stale = connectAs(tenant.appRole, tenant.appPassword, tenant.database);
  await expect(stale`select 1`).rejects.toMatchObject({ code: '28P01' });

  // Served by a session of the new pool, opened with the new password.
  await expect.poll(async () => oldSessions.includes((await pid()) ?? -1), EVENTUALLY).toBe(false);
  // The old pool is closed: its sessions end.
  await expect
    .poll(
      async () => (await sessionsOf(admin, tenant.appRole)).filter((p) => oldSessions.includes(p)),
      EVENTUALLY,
    )
    .toEqual([]);
  await expect.poll(() => databases.stats().drainingPools, EVENTUALLY).toBe(0);
  expect(databases.stats().openPools).toBe(1);

  expect(logger.lines.map((line) => line.msg)).toContain(
    'tenant database credentials changed; draining the old pool',
  );
  const logged = JSON.stringify(logger.lines);
  expect(logged).not.toContain(tenant.appPassword);
  expect(logged).not.toContain(newPassword);
});
