import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import {
  databaseName,
  FINALIZER,
  ingressName,
  TENANT_GROUP,
  TENANT_PLURAL,
  TENANT_VERSION,
  type Tenant,
  topicNames,
} from '@tenantry/tenant-api';
import { isConflict, isNotFound, kubeMessage } from '../kube-errors.ts';
import { setCondition } from './conditions.ts';
import { dropTenantDatabase, suspendTenantRoles } from './database.ts';
import { Conflict, describe, kafkaFailure, postgresFailure, StepFailure } from './failures.ts';
import { type ReconcilerDeps, secretNamespaces, type TimedStep } from './reconcile-context.ts';
import { deleteCredentials } from './secrets.ts';
import { deleteSigningKey } from './signing-key.ts';
import { writeStatus } from './tenant-status.ts';
import { deleteTopics } from './topics.ts';

/**
 * The finalizer `tenantry.dev/cleanup`: added before anything is provisioned, removed once the
 * tenant's resources are cleaned up according to `spec.database.reclaimPolicy`.
 */
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

async function setFinalizers(deps: ReconcilerDeps, tenant: Tenant, finalizers: string[]): Promise<void> {
  // resourceVersion makes the merge patch optimistic: a concurrent writer turns this into a 409.
  try {
    await deps.custom.patchClusterCustomObject(
      {
        group: TENANT_GROUP,
        version: TENANT_VERSION,
        plural: TENANT_PLURAL,
        name: tenant.metadata.name,
        body: { metadata: { finalizers, resourceVersion: tenant.metadata.resourceVersion } },
      },
      mergePatch,
    );
  } catch (error) {
    if (isConflict(error)) throw new Conflict(`tenant ${tenant.metadata.name} changed meanwhile`);
    throw new Error(`while updating the finalizers of tenant ${tenant.metadata.name}: ${kubeMessage(error)}`);
  }
}

export function hasFinalizer(tenant: Tenant): boolean {
  return (tenant.metadata.finalizers ?? []).includes(FINALIZER);
}

export async function addFinalizer(deps: ReconcilerDeps, tenant: Tenant): Promise<void> {
  await setFinalizers(deps, tenant, [...(tenant.metadata.finalizers ?? []), FINALIZER]);
}

/** Removes what the reclaim policy says goes; throws, naming the dependency, when some of it fails. */
async function cleanUp(deps: ReconcilerDeps, name: string, policy: 'Retain' | 'Delete'): Promise<void> {
  const namespaces = secretNamespaces(deps.config);
  try {
    await deps.networking.deleteNamespacedIngress({
      name: ingressName(name),
      namespace: namespaces.platform,
    });
  } catch (error) {
    if (!isNotFound(error))
      throw new Error(`while deleting Ingress ${ingressName(name)}: ${kubeMessage(error)}`);
  }
  if (policy === 'Delete') {
    await dropTenantDatabase(deps.postgres, name).catch((error) => {
      throw postgresFailure(`dropping database ${databaseName(name)}`, error);
    });
    await deps.kafka
      .use((admin) => deleteTopics(admin, topicNames(name)))
      .catch((error) => {
        throw kafkaFailure(`deleting topics of ${name}`, error);
      });
  } else {
    // Data stays; the tenant's roles stop logging in until someone re-creates the tenant.
    await suspendTenantRoles(deps.postgres, name).catch((error) => {
      throw postgresFailure(`locking the roles of ${databaseName(name)}`, error);
    });
  }
  // Either way its credentials and keys go: services stop following a tenant that is gone (no pool,
  // no consumer retrying its events, no token signed for it), and no key of a deleted tenant lingers.
  // Re-creating a retained tenant reattaches the data with new passwords and a new key.
  await deleteCredentials(deps.core, name, namespaces);
  await deleteSigningKey(deps.core, name, namespaces);
}

/** The deletion path: clean up, report it (Event), then let the Tenant go. */
export async function finalize(deps: ReconcilerDeps, tenant: Tenant, timed: TimedStep): Promise<void> {
  const name = tenant.metadata.name;
  const finalizers = tenant.metadata.finalizers ?? [];
  if (!finalizers.includes(FINALIZER)) return;
  const policy = tenant.spec.database?.reclaimPolicy ?? 'Retain';
  try {
    await timed('cleanup', () => cleanUp(deps, name, policy));
  } catch (error) {
    const reason = error instanceof StepFailure ? error.reason : 'CleanupFailed';
    await deps.events.record(tenant, 'Warning', 'CleanupFailed', `${reason}: ${describe(error)}`);
    await writeStatus(deps, tenant, {
      ...tenant.status,
      conditions: setCondition(
        tenant.status?.conditions ?? [],
        { type: 'Ready', status: 'False', reason: 'CleanupFailed', message: describe(error) },
        tenant.metadata.generation ?? 0,
      ),
    });
    throw error;
  }
  const data = `database ${databaseName(name)}, its roles and topics ${topicNames(name).join(', ')}`;
  await deps.events.record(
    tenant,
    'Normal',
    policy === 'Delete' ? 'Deleted' : 'Retained',
    policy === 'Delete'
      ? `deleted ${data}, its credentials and signing key`
      : `reclaimPolicy Retain: kept ${data} (roles set to NOLOGIN); deleted its credentials and signing key, which re-creating the tenant replaces`,
  );
  await setFinalizers(
    deps,
    tenant,
    finalizers.filter((f) => f !== FINALIZER),
  );
  deps.logger.info({ tenant: name, policy }, 'tenant cleaned up');
}
