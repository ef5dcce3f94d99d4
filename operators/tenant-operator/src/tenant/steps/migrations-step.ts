import { databaseName } from '@tenantry/tenant-api';
import { postgresFailure } from '../failures.ts';
import { applyMigrations } from '../migrations.ts';
import type { StepContext, StepResult } from '../reconcile-context.ts';
import { writeTenantSettings } from '../settings.ts';

/** Every registered migration set, as the owner role, then the tenant settings the spec carries. */
export async function migrateDatabase(
  ctx: StepContext,
  ownerUrl: string,
): Promise<StepResult<{ version: string }>> {
  const { name, tenant } = ctx;
  const { version } = await applyMigrations(ownerUrl).catch((error) => {
    throw postgresFailure(`applying migrations to ${databaseName(name)}`, error);
  });
  await writeTenantSettings(ownerUrl, tenant).catch((error) => {
    throw postgresFailure(`writing the tenant settings of ${databaseName(name)}`, error);
  });
  return {
    output: { version },
    condition: {
      type: 'MigrationsApplied',
      status: 'True',
      reason: 'Applied',
      message: `schema at ${version}`,
    },
  };
}
