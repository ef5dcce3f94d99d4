import { appSecretName, databaseName } from '@tenantry/tenant-api';
import { databaseOwnerUid, ensureTenantDatabase, markDatabaseOwner } from '../database.ts';
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

/**
 * The uid of a deleted Tenant whose retained database holds this tenant's name, when this Tenant does
 * not adopt it (spec.database.adoptRetainedFrom); undefined when the database is its own, or absent.
 */
export async function retainedDataOwner(ctx: StepContext): Promise<string | undefined> {
  const owner = await databaseOwnerUid(ctx.deps.postgres, ctx.name);
  if (!owner || owner === ctx.tenant.metadata.uid) return undefined;
  return ctx.tenant.spec.database?.adoptRetainedFrom === owner ? undefined : owner;
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
  const uid = ctx.tenant.metadata.uid;
  if (uid) {
    await markDatabaseOwner(deps.postgres, name, uid).catch((error) => {
      throw postgresFailure(`stamping database ${databaseName(name)} with its Tenant`, error);
    });
  }
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
