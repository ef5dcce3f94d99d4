import { appSecretName, databaseName } from '@tenantry/tenant-api';
import { ensureTenantDatabase } from '../database.ts';
import { kubeFailure, postgresFailure } from '../failures.ts';
import type { StepContext, StepResult } from '../reconcile-context.ts';
import { ensureCredentials, type TenantCredentials } from '../secrets.ts';

/**
 * The tenant's credentials Secrets (passwords generated once, then read back), then its database and
 * two roles with those passwords. Returns the owner's URL, which the migrations step runs as.
 */
export async function writeCredentials(ctx: StepContext): Promise<TenantCredentials> {
  const { deps, tenant, namespaces } = ctx;
  const endpoint = { host: deps.config.postgresPublicHost, port: deps.config.postgresPublicPort };
  return ensureCredentials(deps.core, tenant, namespaces, endpoint).catch((error: unknown) => {
    throw kubeFailure('SecretError', 'writing the credentials Secrets', error);
  });
}

export async function provisionDatabase(
  ctx: StepContext,
  credentials: TenantCredentials,
): Promise<StepResult<{ ownerUrl: string }>> {
  const { deps, name, plan, suspended, namespaces } = ctx;
  await ensureTenantDatabase(
    deps.postgres,
    name,
    { owner: credentials.owner.password, app: credentials.app.password },
    { connectionLimit: plan.spec.postgres.connectionLimit, suspended },
  ).catch((error) => {
    throw postgresFailure(`provisioning database ${databaseName(name)}`, error);
  });
  const owner = new URL(deps.config.postgresAdminUrl);
  owner.username = credentials.owner.username;
  owner.password = credentials.owner.password;
  owner.pathname = `/${databaseName(name)}`;
  return {
    output: { ownerUrl: owner.toString() },
    condition: {
      type: 'DatabaseReady',
      status: 'True',
      reason: suspended ? 'Suspended' : 'Provisioned',
      message: suspended
        ? `database ${databaseName(name)} kept; its roles cannot log in while the tenant is suspended`
        : `database ${databaseName(name)} with roles; credentials in Secret ${namespaces.platform}/${appSecretName(name)}`,
    },
  };
}
