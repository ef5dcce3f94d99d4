import { adminSql, test } from '@tenantry/devstack/testing';
import { afterAll, expect, onTestFinished } from 'vitest';
import { TenantDatabases } from './tenant-databases.ts';
import {
  allowWatchingSecrets,
  capturingLogger,
  EVENTUALLY,
  provisionTenant,
  serviceAccountKubeConfig,
} from './test-support.ts';

const admin = adminSql();
afterAll(() => admin.end());

test('start() retries until the Secrets can be listed and watched, then follows them', async ({
  kube,
  namespace,
}) => {
  // A service account without permissions yet: every list is refused (403), as during an RBAC
  // rollout; the informer stops on each error and must be restarted.
  const serviceKc = await serviceAccountKubeConfig(kube, namespace, 'tenant-service');
  const logger = capturingLogger();
  let started = false;
  const starting = TenantDatabases.start({
    kc: serviceKc,
    namespace,
    maxConnectionsPerTenant: 1,
    maxTenantsOpen: 10,
    logger,
  }).then((databases) => {
    started = true;
    onTestFinished(() => databases.close());
    return databases;
  });

  await expect
    .poll(
      () => logger.lines.filter((line) => line.msg === 'tenant Secret watch failed; restarting').length,
      EVENTUALLY,
    )
    .toBeGreaterThanOrEqual(2);
  expect(started).toBe(false);

  await allowWatchingSecrets(kube, namespace, 'tenant-service');
  const databases = await starting;
  expect(logger.lines.at(-1)).toMatchObject({ level: 'info', msg: 'watching tenant database Secrets' });

  const tenant = await provisionTenant(admin, kube, namespace);
  await expect.poll(() => databases.has(tenant.name), EVENTUALLY).toBe(true);
  const [row] = await databases.sql(tenant.name)`select current_user as user`;
  expect(row?.user).toBe(tenant.appRole);
});
